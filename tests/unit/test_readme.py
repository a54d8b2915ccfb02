"""The README's architecture table names every module of the package, and nothing else."""

from __future__ import annotations

import re

from tests.helpers import ROOT


def readme_modules() -> set[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Architecture", 1)[1].split("\n## ", 1)[0]
    found = set()
    for row in re.findall(r"^\| `([\w/]+/)` \| (.+?) \|", section, flags=re.M):
        folder, modules = row
        if not folder.startswith(("rag/", "benchmarks/")):
            continue
        found |= {folder + name for name in re.findall(r"`([\w]+\.py)`", modules)}
    return found


def test_architecture_table_matches_the_tree() -> None:
    on_disk = {
        path.relative_to(ROOT).as_posix()
        for package in ("rag", "benchmarks")
        for path in (ROOT / package).rglob("*.py")
        if path.name != "__init__.py"
    }
    assert readme_modules() == on_disk
