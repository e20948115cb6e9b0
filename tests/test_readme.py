"""The README's two commands are the ones CI runs."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_commands_match_ci():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "uv run main.py" in readme
    assert "uv run pytest" in readme
    ci_lines = [line.strip() for line in ci.splitlines() if line.strip() and not line.strip().startswith("#")]
    assert "uv run pytest" in ci_lines
    # the lint and type checks the README names are the ones CI runs
    assert "uv run ruff check app tests main.py" in ci_lines
    assert "uv run mypy" in ci_lines
    assert "uv run ruff check app tests main.py && uv run mypy" in readme
