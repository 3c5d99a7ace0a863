"""The documentation site's generated pages (dev/mkdocs_hooks.py) and its page list. The
build itself (``mkdocs build --strict``: links, anchors, pages missing from the nav) runs in
.ci/run."""

from __future__ import annotations

import importlib.util
import re
from types import ModuleType

import pytest
import yaml

from mar_tools.validate import CATALOG
from tests.project.conftest import ROOT

VALIDATE_MD = (ROOT / "docs" / "validate.md").read_text()


def load_hooks() -> ModuleType:
    pytest.importorskip("mkdocs", reason="the dev group's mkdocs is not installed")
    spec = importlib.util.spec_from_file_location("mkdocs_hooks", ROOT / "dev" / "mkdocs_hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hooks = load_hooks()


def nav_pages(node: object) -> list[str]:
    """Every page file named in the ``nav`` of mkdocs.yml."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [page for item in node for page in nav_pages(item)]
    if isinstance(node, dict):
        return [page for value in node.values() for page in nav_pages(value)]
    return []


def test_the_catalogue_page_lists_every_code_with_its_severity_and_link() -> None:
    page = hooks.catalogue_page(CATALOG, hooks.family_titles(VALIDATE_MD))
    rows = re.findall(r"^\| \[`([^`]+)`\]\(validate\.md#([^)]+)\) \| (\w+) \|", page, re.MULTILINE)
    assert [code for code, _, _ in rows] == [info.code for info in CATALOG]
    assert [severity for _, _, severity in rows] == [info.severity.value for info in CATALOG]
    # The anchors are the ones Python-Markdown's toc gives the headings of validate.md.
    from markdown.extensions.toc import slugify

    headings = re.findall(r"^#### `([a-z0-9.-]+)`$", VALIDATE_MD, re.MULTILINE)
    slugs = {slugify(code, "-") for code in headings}
    assert {anchor for _, anchor, _ in rows} <= slugs


def test_every_family_of_the_catalogue_gets_its_heading_from_validate_md() -> None:
    titles = hooks.family_titles(VALIDATE_MD)
    assert {info.family for info in CATALOG} <= set(titles)
    assert titles["path"] == "Names and kinds"
    page = hooks.catalogue_page(CATALOG, titles)
    assert re.findall(r"^## (.+)$", page, re.MULTILINE) == list(
        dict.fromkeys(titles[info.family] for info in CATALOG)
    )


def test_table_cells_are_literal_text() -> None:
    assert hooks._cell("a|b *.mar __init__ <x> [y]") == (
        "a\\|b \\*.mar \\_\\_init\\_\\_ &lt;x> \\[y]"
    )


def test_readme_links_to_doc_pages_become_site_links() -> None:
    text = (
        "[run](https://github.com/mar-tools/mar-tools/blob/main/docs/run.md), "
        "[opts](https://github.com/mar-tools/mar-tools/blob/main/docs/run.md#options), "
        "[bench](https://github.com/mar-tools/mar-tools/blob/main/benchmarks/RESULTS.md)"
    )
    assert hooks.site_links(text) == (
        "[run](run.md), [opts](run.md#options), "
        "[bench](https://github.com/mar-tools/mar-tools/blob/main/benchmarks/RESULTS.md)"
    )


def test_the_nav_lists_every_page_of_docs_and_every_generated_page() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    pages = nav_pages(config["nav"])
    assert len(pages) == len(set(pages))
    written = {path.name for path in (ROOT / "docs").glob("*.md")}
    assert set(pages) == written | {"index.md", "checks.md", "changelog.md"}
    assert config["hooks"] == ["dev/mkdocs_hooks.py"]
