"""Rewrites an upstream test suite so that it tests tachyon_engine instead of Starlette.

Only names of modules change: imports, dotted module paths inside strings (monkeypatch
targets, `importlib.import_module`, expected error messages, warning filters), BlockBuster's
scanned modules and allow-list paths. Test data that merely contains the word (b"starlette-gzip-stream",
URLs, function names) is left alone.
"""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = "tachyon_engine"

# A dotted module path: `starlette.routing`, `starlette.exceptions.StarletteDeprecationWarning`.
_DOTTED = re.compile(r"(?<![\w/.-])starlette(?=\.[A-Za-z_])")
# `from starlette import x`, `import starlette`.
_BARE_IMPORT = re.compile(r"\b(from|import)(\s+)starlette\b(?!\.)")

_SPECIAL_CASES = [
    # Warnings raised inside Starlette code that tachyon_engine builds on are attributed to the
    # Starlette module; a filter naming the module must accept either package (no `(?:`: the
    # filter syntax splits on colons).
    (r'r":starlette.routing"', r'r":(tachyon_engine|starlette)\.routing"'),
    # BlockBuster must keep watching Starlette's own code (tachyon_engine runs much of it) as
    # well as tachyon_engine's.
    ('BlockBuster("starlette")', f'BlockBuster(["{PACKAGE}", "starlette"])'),
    ('scanned_modules="starlette"', f'scanned_modules=["{PACKAGE}", "starlette"]'),
    # The test client's blocking read is allowed wherever the test client's `receive` lives.
    (
        'bb.functions["io.BufferedReader.read"].can_block_in("/starlette/testclient.py", "receive")',
        'bb.functions["io.BufferedReader.read"].can_block_in("/starlette/testclient.py", "receive")\n'
        f'    bb.functions["io.BufferedReader.read"].can_block_in("/{PACKAGE}/testclient.py", "receive")',
    ),
]


def rewrite_source(text: str) -> str:
    """The test source with every reference to Starlette's modules pointed at tachyon_engine."""
    for old, new in _SPECIAL_CASES:
        text = text.replace(old, new)
    text = _DOTTED.sub(PACKAGE, text)
    return _BARE_IMPORT.sub(rf"\1\2{PACKAGE}", text)


def rewrite_tree(root: Path) -> list[Path]:
    """Rewrites every Python file under `root` in place; returns the files that changed."""
    changed = []
    for path in sorted(root.rglob("*.py")):
        original = path.read_text()
        rewritten = rewrite_source(original)
        if rewritten != original:
            path.write_text(rewritten)
            changed.append(path)
    return changed


def pytest_config(pyproject: Path, *, rewrite: bool) -> str:
    """The upstream pytest table alone (`[tool.pytest.ini_options]`, or pytest 9's
    `[tool.pytest]`), as a pyproject.toml text."""
    text = pyproject.read_text()
    header = "[tool.pytest.ini_options]" if "[tool.pytest.ini_options]" in text else "[tool.pytest]\n"
    start = text.index(header)
    end = text.find("\n[", start + 1)
    table = text[start : end if end != -1 else len(text)].rstrip() + "\n"
    return rewrite_source(table) if rewrite else table
