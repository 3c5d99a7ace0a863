"""Every finding code ``mar validate`` can emit, with its default severity and usual fix.

The order here is the documentation order (``docs/validate.md``) and the order of SARIF
rules and JUnit test cases. Codes are a public contract: never rename one, only add.
"""

from __future__ import annotations

from typing import Final

from mar_tools.report.finding import CheckInfo, Finding, Location, Severity

E, W, N = Severity.ERROR, Severity.WARNING, Severity.INFO

# fmt: off
CATALOG: Final[tuple[CheckInfo, ...]] = (
    # The container itself.
    CheckInfo("archive.unreadable", E, "The archive cannot be read",
              "Rebuild the archive; it is truncated, corrupt or not a .mar/.tar.gz/directory."),
    CheckInfo("archive.wrong-extension", E, "TorchServe would pick the wrong unpacker",
              "Name zip archives *.mar and gzip'd tar archives *.tar.gz (TorchServe chooses unzip "
              "or untar from the file name)."),
    # Zip structure as TorchServe's streaming reader (java.util.zip.ZipInputStream) sees it.
    CheckInfo("zip.prefix-data", E, "Bytes before the first zip entry",
              "Remove the leading bytes; TorchServe reads the zip from its first byte."),
    CheckInfo("zip.hidden-data", E, "Bytes between or after zip entries that the index skips",
              "Rebuild the archive with torch-model-archiver; a streaming reader would extract "
              "entries that the central directory does not list (or stop early)."),
    CheckInfo("zip.header-mismatch", E, "Local header disagrees with the central directory",
              "Rebuild the archive; readers disagree on which file this entry is."),
    CheckInfo("zip.overlap", E, "Zip entries share bytes (a zip-bomb technique)",
              "Rebuild the archive; entries must not overlap."),
    CheckInfo("zip.stored-data-descriptor", E, "STORED entry with a data descriptor",
              "Rebuild with a writer that records sizes in the local header; Java's ZipInputStream "
              "refuses STORED entries with data descriptors."),
    CheckInfo("zip.name-encoding", W, "Non-ASCII entry name without the UTF-8 flag",
              "Rebuild the archive so names are flagged as UTF-8; readers decode them "
              "differently."),
    # Each entry's bytes.
    CheckInfo("entry.encrypted", E, "Encrypted entry",
              "TorchServe cannot read encrypted entries; rebuild without encryption."),
    CheckInfo("entry.unsupported-compression", E, "Compression method TorchServe cannot read",
              "Use STORED or DEFLATED (torch-model-archiver's formats)."),
    CheckInfo("entry.crc-mismatch", E, "Entry bytes do not match their CRC-32",
              "The archive is corrupt; rebuild or re-download it."),
    CheckInfo("entry.corrupt", E, "Entry data cannot be decompressed or has the wrong size",
              "The archive is corrupt or truncated; rebuild or re-download it."),
    # Member names and kinds.
    CheckInfo("path.traversal", E, "Entry name escapes the model directory with '..'",
              "Remove the entry; '..' components write outside the extraction directory "
              "(zip-slip)."),
    CheckInfo("path.absolute", E, "Absolute entry name",
              "Store names relative to the model directory."),
    CheckInfo("path.drive-letter", E, "Entry name with a Windows drive letter",
              "Store names relative to the model directory."),
    CheckInfo("path.backslash", E, "Entry name with a backslash",
              "Use '/' as the separator; '\\' is a separator on Windows."),
    CheckInfo("path.invalid", E, "Empty entry name or one with a NUL byte",
              "Rename the file."),
    CheckInfo("path.duplicate", E, "Two entries with the same name",
              "Keep one; extractors silently keep whichever comes last."),
    CheckInfo("path.case-collision", W, "Names that differ only in case",
              "Rename one; they collide on case-insensitive file systems (macOS, Windows)."),
    CheckInfo("path.symlink", E, "Symbolic or hard link entry",
              "Replace the link by the file itself; links can point outside the model directory."),
    CheckInfo("path.special-file", E, "Device, FIFO or other special entry",
              "Remove the entry; archives should hold regular files only."),
    # Zip-bomb limits (configurable).
    CheckInfo("limits.total-size", E, "Declared uncompressed size above the limit",
              "Raise --max-size if the model really is this large."),
    CheckInfo("limits.ratio", E, "Compression ratio above the limit",
              "Raise --max-ratio if the data really is this compressible."),
    CheckInfo("limits.entry-count", E, "More entries than the limit",
              "Raise --max-entries, or pack many small files into one."),
    # The manifest.
    CheckInfo("manifest.missing", E, "MAR-INF/MANIFEST.json is missing",
              "Build the archive with torch-model-archiver (a tar.gz must keep a top directory: "
              "TorchServe strips the first path component)."),
    CheckInfo("manifest.invalid-json", E, "The manifest is not a UTF-8 JSON object",
              "Fix MAR-INF/MANIFEST.json or rebuild the archive."),
    CheckInfo("manifest.schema", E, "The manifest breaks a rule TorchServe enforces",
              "Fix the named key (see schemas/manifest.schema.json)."),
    CheckInfo("manifest.runtime-missing", W, "runtime is missing",
              "Rebuild with torch-model-archiver (or add \"runtime\": \"python\"); TorchServe "
              "assumes python."),
    CheckInfo("manifest.model-version", W, "model.modelVersion is missing",
              "Pass -v/--version to torch-model-archiver; TorchServe assumes 1.0."),
    CheckInfo("manifest.created-on", W, "createdOn is missing or not dd/mm/YYYY HH:MM:SS",
              "Rebuild with torch-model-archiver; TorchServe warns about it."),
    CheckInfo("manifest.archiver-version", W, "archiverVersion is missing",
              "Rebuild with torch-model-archiver; TorchServe warns about it."),
    CheckInfo("manifest.missing-file", E, "A file the manifest names is not in the archive",
              "Add the file, or correct the manifest."),
    CheckInfo("manifest.unsafe-reference", E, "A manifest file name leaves the model directory",
              "Use a plain file name at the archive root."),
    # model-config.yaml.
    CheckInfo("config.invalid-yaml", E, "The model config is not valid YAML",
              "Fix the YAML at the given line."),
    CheckInfo("config.not-mapping", E, "The model config is empty or not a mapping",
              "Make the top level a mapping of keys; TorchServe fails to register otherwise."),
    CheckInfo("config.type", W, "A model-config key has the wrong type",
              "TorchServe ignores the value (with a warning in its log); use the type shown."),
    CheckInfo("config.value", W, "A model-config value is out of range or not allowed",
              "TorchServe ignores or clamps the value; use an allowed one."),
    CheckInfo("config.unknown-key", W, "An unknown key inside a known model-config section",
              "Check the spelling; TorchServe ignores it."),
    CheckInfo("config.breaks-load", E, "A model-config value that makes the model fail to load",
              "Fix the value (pt2 must be a string or mapping, handler a mapping)."),
    CheckInfo("config.not-referenced", W, "A model-config.yaml that the manifest does not name",
              "Pass -c/--config-file to torch-model-archiver, or remove the file."),
    # requirements.txt.
    CheckInfo("requirements.syntax", E, "A requirements line pip cannot parse",
              "Fix the line; TorchServe's pip install fails and the model does not register."),
    CheckInfo("requirements.torch", W, "The requirements name torch (or a package that pins it)",
              "Remove it: TorchServe's `pip install -U` reinstalls torch next to the server's."),
    CheckInfo("requirements.missing-file", E, "A file the requirements refer to is missing",
              "Add it to the archive (--extra-files) or drop the reference."),
    # The handler, read statically.
    CheckInfo("handler.not-found", E, "The handler module is neither in the archive nor built in",
              "Add the handler file, or name one of TorchServe's built-in handlers."),
    CheckInfo("handler.shadows-module", W, "The handler module has a name the worker already uses",
              "Rename the handler file; TorchServe's worker may have imported the standard "
              "module already, and then your file is never loaded."),
    CheckInfo("handler.syntax-error", E, "The handler does not compile",
              "Fix the syntax error at the given line."),
    CheckInfo("handler.no-entry-point", E, "The handler has no entry point",
              "Define a module-level `handle(data, context)` function or one class with a `handle` "
              "method."),
    CheckInfo("handler.multiple-classes", E, "The handler defines several classes",
              "TorchServe 0.12 refuses this ('Expected only one class'); move helper classes to "
              "another module, or add a module-level handle function."),
    CheckInfo("handler.no-handle-method", E, "The handler class has no handle method",
              "Define `handle(self, data, context)` or subclass BaseHandler."),
    CheckInfo("handler.function-not-found", W, "The named entry function is not defined",
              "Define the function; TorchServe falls back to the module's single class."),
    CheckInfo("handler.function-signature", E, "The entry function cannot take (data, context)",
              "Declare it as `def fn(data, context):`."),
    CheckInfo("handler.init-signature", E, "The handler class cannot be built without arguments",
              "Give every __init__ parameter a default; TorchServe calls the class with none."),
    CheckInfo("handler.async-entry-point", E, "Entry point and asyncCommunication disagree",
              "Make `handle` a coroutine (async def) exactly when model-config.yaml sets "
              "asyncCommunication: true."),
    # The eager model file.
    CheckInfo("model.not-python", E, "modelFile is not a Python file",
              "Pass the model's .py file as --model-file."),
    CheckInfo("model.module-name", E, "modelFile's name cannot be imported as a module",
              "Rename it to a plain identifier plus .py (BaseHandler imports the part before the "
              "first dot)."),
    CheckInfo("model.syntax-error", E, "The model file does not compile",
              "Fix the syntax error at the given line."),
    CheckInfo("model.class-count", E, "The model file does not define exactly one class",
              "BaseHandler requires exactly one class; move the others to another module."),
    CheckInfo("model.not-nn-module", W, "The model class does not derive from nn.Module",
              "Derive the model class from torch.nn.Module."),
    # Imports of archive Python files.
    CheckInfo("imports.unresolved", W, "An import resolves to nothing",
              "Add the module to the archive or the package to requirements.txt."),
    # Pickles in serialized files.
    CheckInfo("pickle.dangerous-global", E, "A pickle uses a global known to run code",
              "Do not load this file; rebuild it from trusted code (torch.save of a state_dict)."),
    CheckInfo("pickle.unlisted-global", E, "A pickle uses a global outside the allowlist",
              "Do not load this file unless you trust its source; save a state_dict (tensors "
              "only) instead of whole objects."),
    CheckInfo("pickle.unsafe-operation", E, "A pickle calls a computed object or changes a global",
              "Do not load this file; legitimate pickles only call named rebuild functions."),
    CheckInfo("pickle.unverifiable-global", E, "A pickle builds an import it hides",
              "Do not load this file; legitimate pickles name their imports literally."),
    CheckInfo("pickle.unscannable", E, "Part of a pickle cannot be scanned",
              "Load it only if you trust its source; save tensors with torch.save instead."),
    CheckInfo("pickle.non-weights-global", W, "A pickle needs globals torch.load refuses",
              "torch.load(weights_only=True), the default since torch 2.6, rejects it; save a "
              "state_dict instead of the whole model."),
    CheckInfo("pickle.non-weights-format", W, "A pickle's format torch.load refuses",
              "torch.load(weights_only=True), the default since torch 2.6, reads only pickle "
              "protocol 2 (torch.save's default); save without pickle_protocol."),
    CheckInfo("pickle.malformed", E, "A pickle stream cannot be parsed",
              "The file is corrupt; rebuild it."),
    CheckInfo("pickle.not-scanned", N, "A serialized file was not scanned",
              "Run without --quick (or raise the limit) to scan it."),
)
# fmt: on

CODES: Final = frozenset(info.code for info in CATALOG)


_BY_CODE: Final = {entry.code: entry for entry in CATALOG}


def finding(
    code: str,
    message: str,
    member: str | None = None,
    *,
    line: int | None = None,
    column: int | None = None,
    pointer: str | None = None,
    hint: str | None = None,
    severity: Severity | None = None,
) -> Finding:
    """Build a finding for *code* with its catalog severity and fix (unless given)."""
    entry = _BY_CODE[code]
    return Finding(
        code=code,
        severity=severity or entry.severity,
        message=message,
        location=Location(member=member, line=line, column=column, pointer=pointer),
        hint=hint if hint is not None else entry.fix,
    )
