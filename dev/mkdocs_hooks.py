"""MkDocs hooks (``hooks:`` in mkdocs.yml): pages generated at build time, so that the site
never restates what the code or the repository already says.

* ``checks.md``: the check catalogue, from ``mar_tools.validate.CATALOG`` (the codes
  ``mar validate`` emits, their default severity, title and fix; each links to its
  description in ``validate.md``, which ``tests/validate/test_docs.py`` keeps equal to the
  catalogue).
* ``index.md``: the README; ``changelog.md``: the CHANGELOG. Their absolute links to pages of
  ``docs/`` become links inside the site (the README is also the PyPI page, hence absolute).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from itertools import groupby
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

from mar_tools.report.finding import CheckInfo
from mar_tools.validate import CATALOG

ROOT = Path(__file__).resolve().parents[1]
DOCS_ON_GITHUB = re.compile(
    r"\]\(https://github\.com/mar-tools/mar-tools/blob/main/docs/([A-Za-z0-9_-]+\.md)(#[^)]*)?\)"
)
DOC_HEADING = re.compile(r"^(###|####) (.+)$", re.MULTILINE)


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add the generated pages to the site's files."""
    pages = {
        "checks.md": catalogue_page(
            CATALOG, family_titles((ROOT / "docs" / "validate.md").read_text(encoding="utf-8"))
        ),
        "index.md": site_links((ROOT / "README.md").read_text(encoding="utf-8")),
        "changelog.md": site_links((ROOT / "CHANGELOG.md").read_text(encoding="utf-8")),
    }
    for name, content in pages.items():
        files.append(File.generated(config, name, content=content))
    return files


def site_links(markdown: str) -> str:
    """*markdown* with links to ``docs/X.md`` on GitHub turned into site links (``X.md``)."""
    return DOCS_ON_GITHUB.sub(lambda m: f"]({m.group(1)}{m.group(2) or ''})", markdown)


def anchor(code: str) -> str:
    """The anchor of ``#### `code``` in validate.md: the code without its dots, as both
    GitHub and Python-Markdown's ``toc`` write it (``zip.overlap`` -> ``zipoverlap``)."""
    return code.replace(".", "")


def family_titles(validate_md: str) -> dict[str, str]:
    """Family -> the ``###`` heading above its first ``#### `code``` in validate.md."""
    titles: dict[str, str] = {}
    section = ""
    for level, text in DOC_HEADING.findall(validate_md):
        if level == "###":
            section = text.strip()
        elif text.startswith("`") and section:
            titles.setdefault(text.strip("`").split(".", 1)[0], section)
    return titles


def catalogue_page(catalog: Iterable[CheckInfo], titles: Mapping[str, str]) -> str:
    """The catalogue as Markdown: one table per family (headed by *titles*, else by the
    family's name), in catalogue order."""
    checks = list(catalog)
    lines = [
        "# Check catalogue",
        "",
        f"Every code `mar validate` can report ({len(checks)} codes), with its default "
        "severity and usual fix, generated from `mar_tools/validate/catalog.py` when this site "
        "is built. `mar validate --list-checks` prints the same list; each code links to its "
        "full description in [mar validate](validate.md#checks). Select or silence codes with "
        "`--select` and `--ignore` (a family prefix such as `pickle` works too).",
    ]
    for family, members in groupby(checks, key=lambda info: info.family):
        lines += [
            "",
            f"## {titles.get(family, family)}",
            "",
            "| code | severity | finding | fix |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| [`{info.code}`](validate.md#{anchor(info.code)}) | {info.severity.value} "
            f"| {_cell(info.title)} | {_cell(info.fix)} |"
            for info in members
        ]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    """*text* as literal text inside a Markdown table cell (no emphasis, no HTML)."""
    for char in "\\|*_[":
        text = text.replace(char, "\\" + char)
    return text.replace("<", "&lt;").replace("\n", " ")
