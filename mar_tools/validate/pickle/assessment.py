"""Judge what a pickle does, as :mod:`~mar_tools.validate.pickle.machine` reports it.

:class:`PickleScan` is the machine's observer for one stream (its consecutive pickles) and
then holds the result: the globals met, the problems found (each a catalog code and a
message), the hidden imports, what ``torch.load(weights_only=True)`` would refuse, and a
parse error if any. The rules (docs/security.md, "Pickle policy"):

* a global that the allowlist does not list (nor the archive's own classes) is refused,
  whether it is called or only imported: importing runs module code, and what a pickle
  hands to the model can be called by it later;
* an allowed global must be used as allowed: a class listed for ``NEWOBJ`` is not called;
* a call of anything but a named global (the result of another call, a persistent
  object), and a change (``BUILD``, ``APPEND``, ``SETITEM``...) of a global itself are
  refused: legitimate pickles do neither;
* an allowed callable that calls or loads an argument gets that argument checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Final

from mar_tools.core.pickle.reader import NESTED_LIMIT
from mar_tools.core.sizes import human_size
from mar_tools.validate.pickle import weights_only
from mar_tools.validate.pickle.allowlist import ARGUMENT_RULES, FORWARDS, Requirement, Use
from mar_tools.validate.pickle.machine import HIDDEN, NOTHING, OPAQUE, Blob, Global, Made, Tup
from mar_tools.validate.pickle.policy import TORCH_MODULE_MAPPING, Trust, reaches, uses_of

#: Distinct problems kept per stream (an attacker can make millions).
MAX_PROBLEMS: Final = 20
#: How deep torch files loaded from a pickle's own bytes are followed, and calls forwarded
#: by rebuild functions to rebuild functions.
MAX_DEPTH: Final = 2
MAX_FORWARDS: Final = 4
_NEW_OPS: Final = frozenset({"NEWOBJ", "NEWOBJ_EX"})
_CHANGES: Final = {
    "BUILD": "sets the state of",
    "APPEND": "appends to",
    "APPENDS": "appends to",
    "SETITEM": "sets items of",
    "SETITEMS": "sets items of",
    "ADDITEMS": "adds items to",
}
_VERBS: Final = ("imports", "builds", "calls")  # weakest first


@dataclass(frozen=True)
class Problem:
    """A finding's code, and its message without the file it is in."""

    code: str
    message: str


@dataclass
class PickleScan:
    """The judgement of one stream's pickles (filled in while they are simulated)."""

    trust: Trust = field(default_factory=Trust)
    globals: list[Global] = field(default_factory=list)
    hidden: list[tuple[str, int]] = field(default_factory=list)
    error: str | None = None
    pickles: int = 0
    #: True for torch's legacy format (the first pickle is its magic number).
    legacy: bool = False
    #: Opcode bytes met.
    seen: set[int] = field(default_factory=set)
    #: Allowed globals that torch.load(weights_only=True) does not resolve.
    non_weights: list[str] = field(default_factory=list)
    _uses: dict[tuple[str, str], frozenset[Use]] = field(default_factory=dict)
    _refused: dict[tuple[str, str], tuple[Global, int]] = field(default_factory=dict)
    _other: dict[tuple[str, ...], Problem] = field(default_factory=dict)
    _dropped: int = 0

    @property
    def problems(self) -> list[Problem]:
        """Every problem, refused globals first; the last says how many were left out."""
        found = [_refusal(ref, _VERBS[verb]) for ref, verb in self._refused.values()]
        found += self._other.values()
        if self._dropped and found:
            last = found[-1]
            more = f" ({self._dropped} more problems in this pickle are not listed.)"
            found[-1] = Problem(last.code, last.message + more)
        return found

    @property
    def calls_refused(self) -> bool:
        """True when the pickle calls or builds a refused global (not just imports it)."""
        return any(strength > 0 for _, strength in self._refused.values())

    def refused_opcodes(self) -> list[str]:
        """The opcodes met that torch.load(weights_only=True) does not implement."""
        return weights_only.refused_opcodes(self.seen)

    # --- the machine's observer ---------------------------------------------------------
    def imported(self, ref: Global) -> None:
        key = (ref.module, ref.name)
        if key in self._uses:
            return
        uses = uses_of(ref.module, ref.name, self.trust)
        self._uses[key] = uses
        self.globals.append(ref)
        if not uses:
            self._refuse(ref, "imports")
        elif not weights_only.accepts_global(*key):
            self.non_weights.append(ref.full)

    def called(self, op: str, callee: object, args: object, offset: int) -> object:
        if not isinstance(callee, Global):
            if callee is not HIDDEN:  # a hidden import is reported already
                self._add(
                    ("computed-call", op),
                    "pickle.unsafe-operation",
                    f"calls an object it computed ({op} at pickle byte {offset}), not a named "
                    "global; legitimate pickles only call named rebuild functions.",
                )
            return OPAQUE
        # INST and OBJ without arguments build the class with __new__, like NEWOBJ.
        empty = isinstance(args, Tup) and not args.items
        bare = op in _NEW_OPS or (op in ("INST", "OBJ") and empty)
        use: Use = "new" if bare else "call"
        uses = self._uses_of(callee)
        if not uses:
            self._refuse(callee, "builds" if bare else "calls")
        elif use not in uses:
            allowed = "rebuilt without its constructor (NEWOBJ)" if "new" in uses else "passed"
            self._add(
                ("use", callee.full),
                "pickle.unlisted-global",
                f"calls {callee.full} ({op} at pickle byte {offset}), which the allowlist "
                f"lets a pickle only have {allowed}; calling it runs code with the pickle's "
                "arguments.",
            )
        elif (made := self._check_arguments(callee, args, offset)) is not None:
            return made
        return Made(callee)

    def changed(self, op: str, target: object, offset: int) -> None:
        if isinstance(target, Global):
            self._add(
                ("changed", target.full),
                "pickle.unsafe-operation",
                f"{_CHANGES.get(op, 'changes')} the global {target.full} itself ({op} at "
                f"pickle byte {offset}); legitimate pickles only change objects they built.",
            )

    def concealed(self, reason: str, offset: int) -> None:
        self.hidden.append((reason, offset))

    def loaded(self, pid: object) -> object:
        # torch's legacy format returns the class a ('module', cls, ...) id names.
        if isinstance(pid, Tup) and len(pid.items) > 1 and pid.items[0] == "module":
            return pid.items[1]
        return OPAQUE

    # --- rules --------------------------------------------------------------------------
    def _uses_of(self, ref: Global) -> frozenset[Use]:
        key = (ref.module, ref.name)
        if key not in self._uses:
            self._uses[key] = uses_of(ref.module, ref.name, self.trust)
        return self._uses[key]

    def _refuse(self, ref: Global, verb: str) -> None:
        key = (ref.module, ref.name)
        strength = _VERBS.index(verb)
        if key in self._refused:
            known, old = self._refused[key]
            self._refused[key] = (known, max(old, strength))
        elif len(self._refused) < MAX_PROBLEMS:
            self._refused[key] = (ref, strength)
        else:
            self._dropped += 1

    def _add(self, key: tuple[str, ...], code: str, message: str) -> None:
        if key in self._other:
            return
        if len(self._other) < MAX_PROBLEMS:
            self._other[key] = Problem(code, message)
        else:
            self._dropped += 1

    def _check_arguments(
        self, callee: Global, args: object, offset: int, forwarded: int = 0
    ) -> object | None:
        """Check the arguments a rule-bearing callable calls or loads; return the value the
        call makes when the scanner can follow it (decoded bytes), else None."""
        module = TORCH_MODULE_MAPPING.get(callee.module, callee.module)
        rules = ARGUMENT_RULES.get((module, callee.name))
        if not rules:
            return None
        if not isinstance(args, Tup):
            self._add(
                ("arguments", callee.full),
                "pickle.unsafe-operation",
                f"calls {callee.full} (pickle byte {offset}) with arguments it computed; that "
                "function calls or loads its arguments, so they must be written out.",
            )
            return None
        for position, need in rules:
            if position < len(args.items):
                self._check_argument(callee, args.items[position], need, offset)
        forward = FORWARDS.get((module, callee.name))
        if forward is not None and max(forward) < len(args.items):
            self._check_forwarded(args.items[forward[0]], args.items[forward[1]], offset, forwarded)
        first = args.items[0] if args.items else None
        if isinstance(first, Blob) and (module, callee.name) == ("_codecs", "encode"):
            try:
                return Blob(first.data.decode("utf-8", "surrogatepass").encode("latin-1"), False)
            except (UnicodeDecodeError, UnicodeEncodeError):
                return None
        return None

    def _check_forwarded(self, function: object, args: object, offset: int, depth: int) -> None:
        """A rebuild function calls *function* with *args*: check that call like a direct one
        (its own argument rules, a nested torch file to scan)."""
        if not isinstance(function, Global) or not self._uses_of(function):
            return  # reported as an argument that may not be called
        if depth >= MAX_FORWARDS:
            self._add(
                ("forwarded", function.full),
                "pickle.unsafe-operation",
                f"nests rebuild functions that call each other more than {MAX_FORWARDS} deep "
                f"(pickle byte {offset}).",
            )
            return
        self._check_arguments(function, args, offset, depth + 1)

    def _check_argument(self, callee: Global, value: object, need: Requirement, at: int) -> None:
        if need == "latin1":
            if value not in ("latin1", "latin-1"):
                shown = repr(value) if isinstance(value, str) else "a computed codec"
                self._add(
                    ("codec", callee.full),
                    "pickle.unsafe-operation",
                    f"calls {callee.full} with {shown} (pickle byte {at}); pickles only ever "
                    "pass 'latin1' there.",
                )
        elif need == "torch-file":
            self._load_nested(callee, value, at)
        elif need == "call-or-none" and value is NOTHING:
            return
        elif isinstance(value, Global):
            wanted: Use = "new" if need == "new" else "call"
            uses = self._uses_of(value)
            if uses and wanted not in uses:
                what = "builds an instance of" if wanted == "new" else "calls"
                self._add(
                    ("argument", callee.full, value.full),
                    "pickle.unlisted-global",
                    f"passes {value.full} to {callee.full} (pickle byte {at}), which {what} "
                    "it; the allowlist does not let a pickle do that with it.",
                )
        else:
            self._add(
                ("argument", callee.full),
                "pickle.unsafe-operation",
                f"passes an object it computed to {callee.full} (pickle byte {at}), which "
                "calls it; only an allowed, named global may be passed there.",
            )

    def _load_nested(self, callee: Global, value: object, at: int) -> None:
        if not isinstance(value, Blob) or value.text:  # text: not bytes, torch.load fails
            self._add(
                ("nested", callee.full),
                "pickle.unsafe-operation",
                f"calls {callee.full} (pickle byte {at}), which runs torch.load without "
                "restrictions on bytes the scanner could not keep (computed, or larger than "
                f"{human_size(NESTED_LIMIT)}).",
            )
            return
        if self.trust.nested is None or self.trust.depth >= MAX_DEPTH:
            self._add(
                ("nested", callee.full),
                "pickle.unsafe-operation",
                f"nests torch files more than {MAX_DEPTH} deep ({callee.full} at pickle byte "
                f"{at}); the inner ones are not scanned.",
            )
            return
        inner = replace(self.trust, depth=self.trust.depth + 1)
        for code, message in self.trust.nested(value.data, inner):
            self._add(
                ("nested", code, message),
                code,
                f"loads a torch file from its own bytes ({callee.full} at pickle byte {at}), "
                f"and there {message}",
            )


def _refusal(ref: Global, verb: str) -> Problem:
    target = reaches(ref.module, ref.name)
    where = f"{verb} {ref.full} (pickle byte {ref.offset})"
    if target is None:
        return Problem(
            "pickle.unlisted-global",
            f"{where}, which is not on the allowlist of rebuild functions and classes; "
            "loading it may run code.",
        )
    that = "" if target == ref.full else f", that is {target}"
    return Problem("pickle.dangerous-global", f"{where}{that}; loading it can run arbitrary code.")
