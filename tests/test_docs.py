"""The docs stay true: every file they name exists, and every function or class the
architecture page names as the one place of a rule is defined in the file it points to.
A change that moves or renames a rule fails here until its line in the docs moves too."""

import re
from pathlib import Path

import django
import pytest

from tests.project import ROOT

pytestmark = pytest.mark.sqlite
DJANGO = Path(django.__file__).parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(((?!https?:|#|mailto:)[^)#\s]+)(?:#[^)]*)?\)")
FILE = re.compile(r"`((?:[\w.-]+/)*[\w.-]+\.(?:py|md|html|toml|yml|yaml|txt|json|cfg))`")


def named_files(text: str) -> set[str]:
    return {m for m in FILE.findall(text) if "/" in m or (ROOT / m).exists() or m.endswith(".md")}


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_every_file_a_doc_names_exists(doc):
    text = doc.read_text()
    missing = []
    for name in sorted(named_files(text) | set(LINK.findall(text))):
        # A file of Django's own (the performance notes quote some) counts as existing.
        candidates = [ROOT / name, doc.parent / name, DJANGO / name, DJANGO / "forms" / "templates" / name]
        if "<" in name or "*" in name:
            continue
        if not any(c.exists() for c in candidates):
            missing.append(name)
    assert not missing, f"{doc.name} names files that do not exist: {missing}"


def test_each_rule_s_one_place_defines_what_the_architecture_page_names():
    """Rows of "Where each rule lives": `path.py` (`name`, `other`) — each name is defined
    (def, class, or an attribute/method) in that file."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    table = text.split("## Where each rule lives", 1)[1].split("\n## ", 1)[0]
    problems, checked = [], 0
    for row in table.splitlines():
        if not row.startswith("|") or row.startswith("|---") or row.startswith("| rule"):
            continue
        place = row.rstrip(" |").rsplit("|", 1)[1]
        for path, names in re.findall(r"`([\w/]+\.py)`(?: \(([^)]*)\))?", place):
            source = (ROOT / path).read_text()
            for name in re.findall(r"`([\w.]+)`", names or ""):
                leaf = name.split(".")[-1]
                if not re.search(rf"(def|class) {re.escape(leaf)}\b|\b{re.escape(leaf)}\s*[:=]", source):
                    problems.append(f"{path} does not define {name}")
                checked += 1
    assert checked > 40
    assert not problems, problems


def test_the_configuration_page_names_every_environment_variable():
    from config.settings import ENV_VARS

    page = (ROOT / "docs" / "configuration.md").read_text()
    assert not [name for name in ENV_VARS if f"`{name}`" not in page]
