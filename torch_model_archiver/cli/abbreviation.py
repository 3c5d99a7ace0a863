"""Unique prefixes of long options, resolved as upstream's argparse parser resolves them.

Upstream 0.12's archiver is an ``argparse`` parser, which accepts any unique prefix of a long
option (``--serial w.pt`` for ``--serialized-file w.pt``); scripts in the wild rely on it.
click does not, so the command line is rewritten to full option names before click parses it.

The rule, in two tiers, so that every command line written for upstream means here what it
meant there, and ours extend only what upstream rejects:

1. An exact option name is itself (``--extra-files`` is never ``--extra-files-layout``).
2. A prefix of one or more of **upstream's** long options resolves among upstream's options
   only, exactly as argparse does: one match is that option (``--extra-file`` is
   ``--extra-files`` even though ``--extra-files-layout`` exists); several are an error that
   lists upstream's candidates in upstream's order, in argparse's words.
3. Otherwise, a prefix of one or more of **our** additional long options resolves among ours
   the same way (``--tool`` is ``--tool-version``; ``--d`` may be ambiguous).
4. Anything else is left for click to report (``No such option``, with its suggestions).

``--opt=value`` resolves ``--opt`` and keeps ``=value`` untouched. A token that is the value of
the previous option (``--handler --odd-name``, ``-v --1``) is a value, never an option, as click
reads it; after ``--`` nothing is rewritten. Short options are left to click, which already
reads them as argparse does (``-fv 1.0``, ``-v1.0``); they are followed only to know whether
the next token is a value.

Abbreviations of our own options are a convenience, not a contract: an option added later can
make an abbreviation ambiguous (as with any argparse program). Scripts should spell options in
full.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from mar_tools.core.record import record

END_OF_OPTIONS = "--"


class AmbiguousOption(ValueError):
    """A prefix matches several options of one tier; ``str()`` is argparse's message."""

    def __init__(self, token: str, candidates: Sequence[str]) -> None:
        self.token = token
        self.candidates = tuple(candidates)
        super().__init__(f"ambiguous option: {token} could match {', '.join(self.candidates)}")


@record
class OptionNames:
    """The option strings a command line is resolved against.

    ``upstream`` and ``ours`` are long options (``--name``) in declaration order (the order
    of an ambiguity message); ``valued`` holds every option string, short or long, that takes
    a value; ``short_flags`` the short options that take none.
    """

    upstream: tuple[str, ...]
    ours: tuple[str, ...]
    valued: frozenset[str]
    short_flags: frozenset[str]

    @classmethod
    def from_options(
        cls, upstream: Iterable[str], options: Iterable[tuple[Sequence[str], bool]]
    ) -> OptionNames:
        """Build from *upstream*'s long option names and every option of the command as
        ``(option strings, takes a value)``; long options not in *upstream* are ours."""
        upstream_names = tuple(upstream)
        ours: list[str] = []
        valued: set[str] = set()
        short_flags: set[str] = set()
        for strings, takes_value in options:
            for name in strings:
                if _is_long(name) and name not in upstream_names:
                    ours.append(name)
                if takes_value:
                    valued.add(name)
                elif not _is_long(name):
                    short_flags.add(name)
        return cls(upstream_names, tuple(ours), frozenset(valued), frozenset(short_flags))

    def resolve(self, name: str, token: str) -> str | None:
        """The full long option that *name* (``--xyz``, without ``=value``) stands for, or
        None when it matches none; raises :class:`AmbiguousOption` (naming *token*, the
        whole argument as given) when it matches several in the first tier that has one."""
        if name in self.upstream or name in self.ours:
            return name
        for tier in (self.upstream, self.ours):
            matches = [option for option in tier if option.startswith(name)]
            if len(matches) > 1:
                raise AmbiguousOption(token, matches)
            if matches:
                return matches[0]
        return None


def expand_abbreviations(args: Sequence[str], names: OptionNames) -> list[str]:
    """*args* with every abbreviated long option replaced by its full name (see the module
    docstring for the rule); raises :class:`AmbiguousOption` for the first ambiguous one."""
    expanded: list[str] = []
    value_expected = False
    for position, token in enumerate(args):
        if value_expected:
            expanded.append(token)
            value_expected = False
        elif token == END_OF_OPTIONS:
            expanded.extend(args[position:])
            break
        elif _is_long(token):
            name, equals, value = token.partition("=")
            full = names.resolve(name, token)
            expanded.append(token if full is None else full + equals + value)
            value_expected = full in names.valued and not equals
        else:
            expanded.append(token)
            value_expected = _short_cluster_wants_value(token, names)
    return expanded


def _is_long(token: str) -> bool:
    return token.startswith("--")


def _short_cluster_wants_value(token: str, names: OptionNames) -> bool:
    """Whether ``-abc`` ends with a short option whose value is the next token (click's and
    argparse's reading: flags may be grouped, a valued option takes the rest or the next)."""
    if len(token) < 2 or not token.startswith("-"):
        return False
    for index, char in enumerate(token[1:], start=1):
        option = "-" + char
        if option in names.valued:
            return index == len(token) - 1
        if option not in names.short_flags:
            return False
    return False
