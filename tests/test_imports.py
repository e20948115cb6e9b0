"""How the code imports: what start-up loads, and which package may import which.

Start-up: `main.py --version`, `--help` and the light commands answer at once because building
the command line, reading the settings and the characters and naming the conversation's events
import none of the models' stack (torch, transformers, faster-whisper, moshi) and no Qt. Checked
in a fresh interpreter through `sys.modules`, as the Qt rule is checked in tests/ui/test_window.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

HEAVY = ("torch", "transformers", "faster_whisper", "ctranslate2", "moshi", "PySide6")

START_UP = """
import json, sys
import app.cli
app.cli.build_parser()
import app.settings, app.conversation.character, app.conversation.events
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {heavy})))
"""


def test_start_up_imports_neither_torch_nor_qt():
    code = START_UP.format(heavy=set(HEAVY))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT)
    loaded = json.loads(out.stdout)
    assert "torch" not in loaded, "start-up imports torch"
    assert loaded == [], f"start-up imports {loaded}"


DEVICES = """
import json, runpy, sys
sys.argv = ["main.py", "devices"]
try:
    runpy.run_path("main.py", run_name="__main__")
except SystemExit as end:
    code = end.code
print(json.dumps([code, sorted(m for m in sys.modules if m.split(".")[0] in {heavy})]))
"""


def test_devices_imports_neither_torch_nor_qt():
    """`main.py devices` runs its whole path (listing the devices, or saying there are none)
    without the models' stack or Qt."""
    code = DEVICES.format(heavy=set(HEAVY))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    exit_code, loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert exit_code in (0, 2, None), out.stderr  # 2: no sound devices here, said in one line
    assert loaded == [], f"`devices` imports {loaded}"


UI_MODULES = """
import json, pkgutil, importlib, sys
import app.ui, app.workers
for package in (app.ui, app.workers):
    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(package.__name__ + "." + info.name)
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {heavy})))
"""


def test_the_window_and_its_workers_import_no_model_stack():
    """Every module of app/ui and app/workers imports without torch (and the rest of the models'
    stack): they run on the GUI thread or hand work to threads that import it when they load."""
    heavy = set(HEAVY) - {"PySide6"}
    out = subprocess.run([sys.executable, "-c", UI_MODULES.format(heavy=heavy)],
                         capture_output=True, text=True, check=True, cwd=ROOT,
                         env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert json.loads(out.stdout) == [], "app/ui and app/workers import " + out.stdout


# -- layering ------------------------------------------------------------------------------------
# Imports run one way, down this list: a module imports from its own package and from lower
# layers, never from a higher one (imports inside functions count too). app/ itself (the
# version), the light core modules and each package are the units.
LAYERS = (
    ("core", {"app", "core", "errors", "atomic", "settings", "threads", "paths", "word_times",
              "torch_device"}),
    ("engines", {"tts", "codec", "asr", "audio", "brains", "assets"}),
    ("checks", {"diagnostics"}),
    ("conversation", {"conversation", "dialogue"}),
    ("workers", {"workers"}),
    ("top", {"ui", "commands", "cli", "bench"}),
)
# Units of one layer do not import each other, except these (importer, imported), each for a
# reason:
ALLOWED = {
    # assets builds and loads every engine's models: the TTS loader (tts, codec), the demo
    # Dia2 and Mimi, the packaged Whisper and reply model's configs, the sizes of each setup
    ("assets", "tts"), ("assets", "codec"), ("assets", "asr"), ("assets", "brains"),
    # a long dialogue is rendered with the conversation's prefix rules, turns and subtitles
    ("dialogue", "conversation"),
    # the command line dispatches to the commands, and opens the window without one
    ("cli", "commands"), ("cli", "ui"),
    # `main.py bench` runs the benchmarks; `bench --window` measures the window
    ("commands", "bench"), ("bench", "ui"),
}


def _unit(module: str) -> str:
    """The layering unit of a module name: its package under app/, or a core module's name."""
    parts = module.split(".")
    return "app" if len(parts) == 1 else parts[1]


def _layer(unit: str) -> int:
    for rank, (_, units) in enumerate(LAYERS):
        if unit in units:
            return rank
    raise AssertionError(f"app/{unit} is in no layer of tests/test_imports.py; add it")


def _app_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import of an app module in `path`, at any depth."""
    import ast

    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "app"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                and node.module.split(".")[0] == "app":
            if node.module == "app":  # `from app import x`: x may be a package
                found += [(node.lineno, f"app.{a.name}") for a in node.names
                          if (ROOT / "app" / a.name).is_dir()
                          or (ROOT / "app" / f"{a.name}.py").is_file()]
                if any(not ((ROOT / "app" / a.name).is_dir()
                            or (ROOT / "app" / f"{a.name}.py").is_file()) for a in node.names):
                    found.append((node.lineno, "app"))
            else:
                found.append((node.lineno, node.module))
    return found


def test_imports_run_one_way():
    wrong = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        rel = path.relative_to(ROOT)
        importer = _unit(".".join(rel.with_suffix("").parts))
        for line, module in _app_imports(path):
            imported = _unit(module)
            if imported == importer:
                continue
            up, down = _layer(importer), _layer(imported)
            if down > up:
                wrong.append(f"{rel}:{line} imports {module} (a higher layer)")
            elif down == up and (importer, imported) not in ALLOWED and LAYERS[up][0] != "core":
                wrong.append(f"{rel}:{line} imports {module} (same layer, not allowed)")
    assert not wrong, "imports against the layering:\n" + "\n".join(wrong)


def test_no_import_cycles_between_units():
    """Whatever the layers allow, no two units import each other."""
    edges: set[tuple[str, str]] = set()
    for path in (ROOT / "app").rglob("*.py"):
        importer = _unit(".".join(path.relative_to(ROOT).with_suffix("").parts))
        edges |= {(importer, _unit(m)) for _, m in _app_imports(path) if _unit(m) != importer}
    both = sorted(f"{a} <-> {b}" for a, b in edges if (b, a) in edges and a < b)
    assert not both, f"units importing each other: {both}"
