"""What a session says about its devices when it starts: a GPU that torch cannot use (why, and
what to do), and how slow Dia2 is on the CPU. The window shows it in its banner, the terminal chat
prints it, `doctor` says the same in its GPU check.

The CPU figure is the published 1B shape's on the 2-core development machine in float32, measured
quiet by `bench --sizes 1b --device cpu` (docs/benchmarks.md: 549 and 593 ms a frame, 2 torch
threads): about 0.55 s per frame against the 80 ms a frame plays, so about 7 times slower than
real time.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

FRAME_S = 0.08  # audio in one Dia2 frame (12.5 frames a second)
CPU_1B_S_PER_FRAME = 0.55  # published 1B shape, float32, 2-core dev machine, quiet (benchmarks.md)
SMALL_MODEL_PARAMS = 100_000_000  # below this Dia2 is a demo model: fast anywhere, no speed note


def cpu_speed_note(model: str = "") -> str:
    """One sentence on Dia2's speed on the CPU (with the checkpoint's name, when given)."""
    slower = CPU_1B_S_PER_FRAME / FRAME_S
    which = f" ({model})" if model else ""
    bigger = " The 2B model is larger and slower still." if "2B" in model else ""
    return (f"Dia2{which} runs on the CPU: the published 1B model takes about "
            f"{CPU_1B_S_PER_FRAME:.2f} s per {FRAME_S * 1000:.0f} ms frame on a 2-core machine in "
            f"float32, about {slower:.0f} times slower than real time, so replies are slow to "
            f"come.{bigger} A CUDA GPU speaks in real time; --demo tries the app quickly.")


def start_notes(dia2_device: str, dia2_params: int, model: str = "", *,
                asked_device: str = "auto", gpu=None) -> list[str]:
    """Notes for the start of a session (each one or two sentences; [] when all is well).

    Args:
        dia2_device: where Dia2 was loaded ("cpu", "cuda", "cuda:0"...).
        dia2_params: its parameter count (a small demo model gets no speed note).
        model: the checkpoint's name, for the note.
        asked_device: the user's device choice; an explicit "cpu" gets no GPU note.
        gpu: an `app.diagnostics.gpu.GpuInfo`; None reads it now.
    """
    if dia2_device.startswith("cuda"):
        return []
    notes = []
    if asked_device == "auto":
        from app.diagnostics.gpu import gpu_info, gpu_problem

        problem = gpu_problem(gpu if gpu is not None else gpu_info())
        if problem is not None:
            notes.append(f"{_sentence(problem.detail)} To fix: {_sentence(problem.fix)}")
    if dia2_params >= SMALL_MODEL_PARAMS:
        notes.append(cpu_speed_note(model))
    for note in notes:
        log.info("%s", note)
    return notes


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
