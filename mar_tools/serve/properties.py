"""Java ``.properties`` files, read as ``java.util.Properties.load`` reads them.

TorchServe reads ``config.properties`` with Java's loader, so the same rules apply here: a
line starting with ``#`` or ``!`` is a comment; the key ends at the first unescaped ``=``,
``:`` or blank; a line ending in an odd number of backslashes continues on the next line
(its leading blanks dropped); ``\\t``, ``\\n``, ``\\r``, ``\\f`` and ``\\uXXXX`` are escapes,
any other escaped character stands for itself; a repeated key keeps its last value.
"""

from __future__ import annotations

_BLANKS = " \t\f"
_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def parse_properties(text: str) -> dict[str, str]:
    """The key/value pairs of *text* (see the module docstring), in file order."""
    pairs: dict[str, str] = {}
    for line in _logical_lines(text):
        key, value = _split(line)
        pairs[_unescape(key)] = _unescape(value)
    return pairs


def _logical_lines(text: str) -> list[str]:
    lines: list[str] = []
    pending: str | None = None
    for raw in text.splitlines():
        line = raw.lstrip(_BLANKS)
        if pending is None and (not line or line[0] in "#!"):
            continue
        continued = _ends_with_escape(line)
        if continued:
            line = line[:-1]
        pending = line if pending is None else pending + line
        if not continued:
            lines.append(pending)
            pending = None
    if pending is not None:
        lines.append(pending)
    return lines


def _ends_with_escape(line: str) -> bool:
    count = len(line) - len(line.rstrip("\\"))
    return count % 2 == 1


def _split(line: str) -> tuple[str, str]:
    index = 0
    while index < len(line):
        char = line[index]
        if char == "\\":
            index += 2
            continue
        if char in "=:" or char in _BLANKS:
            break
        index += 1
    key = line[:index]
    rest = line[index:].lstrip(_BLANKS)
    if rest[:1] in ("=", ":"):
        rest = rest[1:].lstrip(_BLANKS)
    return key, rest


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char != "\\" or index + 1 >= len(text):
            out.append(char)
            index += 1
            continue
        nxt = text[index + 1]
        if nxt == "u" and index + 6 <= len(text):
            try:
                out.append(chr(int(text[index + 2 : index + 6], 16)))
                index += 6
                continue
            except ValueError:
                pass
        out.append(_ESCAPES.get(nxt, nxt))
        index += 2
    return "".join(out)
