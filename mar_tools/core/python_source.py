"""What a Python file defines, read with :mod:`ast` (never imported, never executed).

The facts TorchServe's loader depends on: the module-level names (``hasattr(module, fn)``),
the classes whose ``__module__`` is this module (what ``list_classes_from_module`` counts:
the module attributes bound, on the path an import takes, by ``class`` statements at module
level, including inside ``if``/``try``/``with`` blocks but not ``except`` blocks, by aliases
of them, and by ``namedtuple``/``NamedTuple``/``Enum``/``type()`` calls; a name bound twice
is one attribute), and every import with its line. Blocks that never run on import
(``if TYPE_CHECKING:``, ``if __name__ == "__main__":``) are left out.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import cast

from mar_tools.core.record import field, record

#: Calls that create a class whose __module__ is the calling module.
CLASS_FACTORIES = frozenset(
    {"namedtuple", "NamedTuple", "TypedDict", "Enum", "IntEnum", "StrEnum", "Flag",
     "IntFlag", "make_dataclass", "type", "new_class"}
)  # fmt: skip
OPTIONAL_IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "Exception"})
#: Base classes known not to provide any method (so a class with only these inherits none).
PLAIN_BASES = frozenset({"object", "ABC", "abc.ABC", "Generic", "typing.Generic", "Protocol"})
#: ``try``/``except*`` statements (``ast.TryStar`` exists from Python 3.11 on).
TRY_NODES: tuple[type[ast.stmt], ...] = (ast.Try, getattr(ast, "TryStar", ast.Try))


@record
class ClassInfo:
    """A class the module defines: name, line, base expressions, methods (def or assigned)."""

    name: str
    line: int
    bases: tuple[str, ...]
    methods: dict[str, ast.FunctionDef | ast.AsyncFunctionDef | None]

    @property
    def inherits(self) -> bool:
        """True when a base class may provide methods (one not in :data:`PLAIN_BASES`)."""
        return any(base not in PLAIN_BASES for base in self.bases)


@record
class ImportInfo:
    """One imported module: dotted name, relative level, line/col, and whether guarded by
    ``try: ... except ImportError`` (an optional import) or ``if TYPE_CHECKING``."""

    module: str
    level: int
    line: int
    column: int
    optional: bool


@record
class SyntaxProblem:
    """Why the file does not compile, and where."""

    message: str
    line: int | None
    column: int | None


@record(frozen=False)
class SourceModule:
    """The parsed facts of one file (``tree`` is None when it does not compile)."""

    member: str
    tree: ast.Module | None
    problem: SyntaxProblem | None = None
    #: Module-level name -> the statement that binds it.
    bindings: dict[str, ast.stmt] = field(default_factory=dict)
    classes: list[ClassInfo] = field(default_factory=list)
    imports: list[ImportInfo] = field(default_factory=list)
    star_import: bool = False


def parse_source(member: str, data: bytes) -> SourceModule:
    """Parse *data* (the bytes of *member*) the way the interpreter would compile it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. SyntaxWarning for invalid escapes
            tree = ast.parse(data, filename=member)
    except SyntaxError as exc:
        problem = SyntaxProblem(exc.msg or "invalid syntax", exc.lineno, exc.offset)
        return SourceModule(member, None, problem)
    except (ValueError, UnicodeDecodeError, RecursionError, MemoryError) as exc:
        return SourceModule(member, None, SyntaxProblem(str(exc) or type(exc).__name__, None, None))
    module = SourceModule(member, tree)
    classes: dict[str, ClassInfo] = {}
    for statement, usual in _module_level(tree.body):
        _bind(module, statement, classes if usual else None)
    module.classes = list(classes.values())
    module.imports = list(_imports(tree))
    return module


def _module_level(body: list[ast.stmt], usual: bool = True) -> Iterator[tuple[ast.stmt, bool]]:
    """Statements that may run on import in the module namespace (not in defs or classes),
    each with whether it lies on the usual path (not in an ``except`` block)."""
    for statement in body:
        yield statement, usual
        if isinstance(statement, ast.If) and _never_on_import(statement.test):
            yield from _module_level(statement.orelse, usual)
        elif isinstance(statement, ast.If | ast.For | ast.While | ast.With | ast.AsyncWith):
            yield from _module_level(statement.body, usual)
            yield from _module_level(getattr(statement, "orelse", []), usual)
        elif isinstance(statement, TRY_NODES):
            node = cast(ast.Try, statement)
            yield from _module_level(node.body, usual)
            for handler in node.handlers:
                yield from _module_level(handler.body, False)
            yield from _module_level(node.orelse, usual)
            yield from _module_level(node.finalbody, usual)
        elif isinstance(statement, ast.Match):
            for case in statement.cases:
                yield from _module_level(case.body, usual)


def _never_on_import(test: ast.expr) -> bool:
    """True for ``if`` tests that are false when the module is imported: ``TYPE_CHECKING``
    (also ``typing.TYPE_CHECKING``) and ``__name__ == "__main__"``."""
    if isinstance(test, ast.Name | ast.Attribute):
        return (test.id if isinstance(test, ast.Name) else test.attr) == "TYPE_CHECKING"
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq):
        sides = {ast.unparse(test.left), ast.unparse(test.comparators[0])}
        return sides in ({"__name__", "'__main__'"}, {"__name__", '"__main__"'})
    return False


def _bind(module: SourceModule, statement: ast.stmt, classes: dict[str, ClassInfo] | None) -> None:
    """Record the names *statement* binds. *classes* (None off the usual path) maps each
    name bound to a class of this module to it; a later binding of a name replaces it."""

    def bind(name: str, info: ClassInfo | None = None) -> None:
        module.bindings[name] = statement
        if classes is not None:
            classes.pop(name, None)
            if info is not None:
                classes[name] = info

    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
        bind(statement.name)
    elif isinstance(statement, ast.ClassDef):
        bind(statement.name, _class_info(statement))
    elif isinstance(statement, ast.Import | ast.ImportFrom):
        for alias in statement.names:
            if alias.name == "*":
                module.star_import = True
            else:
                bind(alias.asname or alias.name.split(".")[0])
    elif isinstance(statement, ast.Assign | ast.AugAssign) or (
        isinstance(statement, ast.AnnAssign) and statement.value is not None  # not `x: int`
    ):
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        makes_class = _makes_class(statement.value, classes or {})
        for name in _target_names(targets):
            bind(name, ClassInfo(name, statement.lineno, (), {}) if makes_class else None)
    elif isinstance(statement, ast.Delete) and classes is not None:
        for name in _target_names(statement.targets):
            classes.pop(name, None)


def _target_names(targets: Sequence[ast.expr]) -> Iterator[str]:
    for target in targets:
        if isinstance(target, ast.Name):
            yield target.id
        elif isinstance(target, ast.Tuple | ast.List):
            yield from _target_names(list(target.elts))


def _makes_class(value: ast.expr | None, classes: Mapping[str, ClassInfo]) -> bool:
    """True when *value* is an alias of a class of this module or a call to a class factory."""
    if isinstance(value, ast.Name):
        return value.id in classes
    if isinstance(value, ast.Call):
        func = value.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name == "type":
            return len(value.args) == 3
        return name in CLASS_FACTORIES
    return False


def _class_info(node: ast.ClassDef) -> ClassInfo:
    methods: dict[str, ast.FunctionDef | ast.AsyncFunctionDef | None] = {}
    for statement in node.body:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
            methods[statement.name] = statement
        elif isinstance(statement, ast.Assign | ast.AnnAssign):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            for name in _target_names(targets):
                methods[name] = None
    bases = tuple(ast.unparse(base) for base in node.bases)
    return ClassInfo(node.name, node.lineno, bases, methods)


def _imports(tree: ast.Module) -> Iterator[ImportInfo]:
    guarded = _guarded_lines(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield ImportInfo(alias.name, 0, node.lineno, node.col_offset + 1,
                                 node.lineno in guarded)  # fmt: skip
        elif isinstance(node, ast.ImportFrom):
            yield ImportInfo(node.module or "", node.level, node.lineno, node.col_offset + 1,
                             node.lineno in guarded)  # fmt: skip


def _guarded_lines(tree: ast.Module) -> set[int]:
    """Lines inside ``try`` blocks that catch ImportError, or under an ``if`` that is false
    on import (``if TYPE_CHECKING:``, ``if __name__ == "__main__":``)."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        body: list[ast.stmt] = []
        if isinstance(node, TRY_NODES):
            attempt = cast(ast.Try, node)
            if any(_catches_import_error(handler) for handler in attempt.handlers):
                body = attempt.body
        elif isinstance(node, ast.If) and _never_on_import(node.test):
            body = node.body
        for statement in body:
            for inner in ast.walk(statement):
                if hasattr(inner, "lineno"):
                    lines.add(inner.lineno)
    return lines


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    names = {
        n.id if isinstance(n, ast.Name) else getattr(n, "attr", "") for n in ast.walk(handler.type)
    }
    return bool(names & OPTIONAL_IMPORT_ERRORS)
