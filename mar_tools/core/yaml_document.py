"""Parse YAML (and JSON, a subset of it) keeping each node's line and column.

PyYAML composes a node graph with marks before it builds Python values; keeping the graph
lets a JSON pointer from a schema violation be turned into the line the user must edit.
Like SnakeYAML (TorchServe's parser), a document whose aliases reference collections more
than 50 times is refused: expanding such aliases is a known denial-of-service.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where a document is parsed: PyYAML costs start-up time
    import yaml

#: SnakeYAML's default LoaderOptions.maxAliasesForCollections.
MAX_COLLECTION_ALIASES = 50


@dataclass(frozen=True)
class YamlProblem:
    """Why the text is not acceptable YAML, and where (1-based)."""

    message: str
    line: int | None = None
    column: int | None = None


@dataclass(frozen=True)
class YamlDocument:
    """The value of a single-document YAML text and its node graph (None when empty)."""

    value: Any
    node: yaml.Node | None

    def locate(self, pointer: str) -> tuple[int, int] | None:
        """(line, column), 1-based, of the node at JSON *pointer*, or of its nearest parent."""
        node = self.node
        if node is None:
            return None
        for part in _parts(pointer):
            child = _child(node, part)
            if child is None:
                break
            node = child
        return node.start_mark.line + 1, node.start_mark.column + 1


def parse_yaml(text: str) -> YamlDocument | YamlProblem:
    """Parse *text* as one YAML 1.1 document with the safe loader."""
    import yaml

    try:
        loader = yaml.SafeLoader(text)
    except yaml.YAMLError as exc:  # e.g. a character YAML does not allow
        return YamlProblem(str(exc).splitlines()[0])
    try:
        node = loader.get_single_node()
        if node is not None:
            aliases = _collection_aliases(node)
            if aliases > MAX_COLLECTION_ALIASES:
                return YamlProblem(
                    f"{aliases} aliases of collections (TorchServe's parser allows "
                    f"{MAX_COLLECTION_ALIASES})"
                )
            if _is_recursive(node):
                return YamlProblem("a node contains itself through an alias")
        value = None if node is None else loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(filter(None, [exc.context, exc.problem])) or "invalid YAML"
        if mark is None:
            return YamlProblem(message)
        return YamlProblem(message, mark.line + 1, mark.column + 1)
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as exc:
        return YamlProblem(str(exc) or type(exc).__name__)
    finally:
        loader.dispose()
    return YamlDocument(value, node)


def _parts(pointer: str) -> list[str]:
    if not pointer:
        return []
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer.lstrip("/").split("/")]


def _child(node: yaml.Node, part: str) -> yaml.Node | None:
    import yaml

    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == part:
                return value  # type: ignore[no-any-return]
    elif isinstance(node, yaml.SequenceNode) and part.isdigit():
        index = int(part)
        if index < len(node.value):
            return node.value[index]  # type: ignore[no-any-return]
    return None


def _collection_aliases(root: yaml.Node) -> int:
    import yaml

    """How many times a collection node is reached a second time (i.e. through an alias)."""
    seen: set[int] = set()
    count = 0
    stack = [root]
    while stack:
        node = stack.pop()
        if not isinstance(node, yaml.CollectionNode):
            continue
        if id(node) in seen:
            count += 1
            continue
        seen.add(id(node))
        stack.extend(_children(node))
    return count


def _is_recursive(root: yaml.Node) -> bool:
    import yaml

    """True when some collection contains itself (the schema validator would loop)."""
    path: set[int] = set()
    done: set[int] = set()

    def visit(node: yaml.Node) -> bool:
        if not isinstance(node, yaml.CollectionNode) or id(node) in done:
            return False
        if id(node) in path:
            return True
        path.add(id(node))
        found = any(visit(child) for child in _children(node))
        path.discard(id(node))
        done.add(id(node))
        return found

    return visit(root)


def _children(node: yaml.Node) -> list[yaml.Node]:
    import yaml

    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []
