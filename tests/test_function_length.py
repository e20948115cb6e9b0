"""No function in app/ is longer than 60 lines (issue 16).

Why: a function that does not fit on one screen is read in pieces, and its steps hide in its
local variables. Past 60 lines, a function is split into named steps that read top-down (the
argparse options by concern, a command as parse / load / render / write, a loop apart from its
set-up and its report); the steps' names and docstrings then say what the code does.

How it is measured: from the `def` line to the function's last line, as `ast` gives them
(docstring, comments and blank lines inside included; decorators not). A nested function counts
within the function around it, and on its own.
"""

from __future__ import annotations

import ast
from pathlib import Path

MAX_LINES = 60  # the longest a function in app/ may be
APP = Path(__file__).resolve().parents[1] / "app"


def functions(root: Path) -> list[tuple[str, int]]:
    """Every function under `root` as ("path:line Qualified.name", its length in lines)."""
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST, path: str, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = prefix + child.name
                length = child.end_lineno - child.lineno + 1
                found.append((f"{path}:{child.lineno} {name}", length))
                visit(child, path, name + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, path, prefix + child.name + ".")
            else:
                visit(child, path, prefix)

    for file in sorted(root.rglob("*.py")):
        tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
        visit(tree, file.relative_to(root.parent).as_posix(), "")
    return found


def too_long(root: Path, limit: int = MAX_LINES) -> list[str]:
    """The functions under `root` longer than `limit` lines, each named with its length."""
    return [f"{where} ({length} lines)" for where, length in functions(root) if length > limit]


def test_no_function_in_app_is_over_60_lines():
    assert len(functions(APP)) > 500, "the scan did not find app/'s functions"
    long = too_long(APP)
    assert not long, (
        f"functions over {MAX_LINES} lines; split each into named steps:\n  " + "\n  ".join(long)
    )


def test_the_measure_names_a_61_line_function_and_passes_60(tmp_path):
    pkg = tmp_path / "app"
    pkg.mkdir()
    body = "".join(f"    x{i} = {i}\n" for i in range(59))
    (pkg / "m.py").write_text(
        "import functools\n\n\n"
        "@functools.cache\n"  # decorators do not count
        f"def fits():\n{body}\n\n"
        f"class C:\n    def method(self):\n{''.join('    ' + line for line in body.splitlines(True))}"
        "        return None\n\n\n"
        f"def outer():\n    def inner():\n{''.join('    ' + line for line in body.splitlines(True))}"
        "        return 1\n"
        "    return inner\n",
        encoding="utf-8",
    )
    lengths = dict(functions(pkg))
    assert lengths == {
        "app/m.py:5 fits": 60,
        "app/m.py:68 C.method": 61,
        "app/m.py:131 outer": 63,
        "app/m.py:132 outer.inner": 61,
    }, lengths
    assert too_long(pkg) == [
        "app/m.py:68 C.method (61 lines)",
        "app/m.py:131 outer (63 lines)",
        "app/m.py:132 outer.inner (61 lines)",
    ]
