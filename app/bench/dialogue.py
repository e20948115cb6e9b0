"""Dialogue benchmark: seconds of audio rendered per second of wall time for a long script.

The script (`bench_script`) is a deterministic two-speaker dialogue of short turns, long
monologues and pauses, rendered end to end by `app.dialogue.episode` (plan, prefixes, every
generation, the streaming decode, the output files) into a temporary folder.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from app.core import FRAME_RATE

SENTENCES = [
    "Hello there, how are you doing today?", "I am fine, thanks for asking.",
    "What a lovely day it is!", "Tell me more about it, I want to know everything.",
    "Well, I think so.", "Let me think about that for a second.",
    "We could talk about music, books, films, the weather or anything you like.",
    "The quick brown fox jumps over the lazy dog.", "Oh, seriously? That's wild.",
    "Yes, no, maybe.",
]


def bench_script(words: int) -> str:
    """A dialogue of at least `words` words: turns of one to six sentences, every eighth a
    30-sentence monologue (cut at sentence ends), a pause in every fifth."""
    parts, n, i = [], 0, 0
    while n < words:
        count = 30 if i % 8 == 7 else 1 + i % 6
        said = [SENTENCES[(i * 3 + k) % len(SENTENCES)] for k in range(count)]
        if i % 5 == 4:
            said.insert(1, '<break time="0.8s"/>')
        parts.append(f"[S{1 + i % 2}] " + " ".join(said))
        n += sum(len(s.split()) for s in said if not s.startswith("<"))
        i += 1
    return "\n".join(parts)


@dataclass(frozen=True)
class DialogueBench:
    """One rendered script."""

    name: str  # what was timed
    device: str  # cpu / cuda
    precision: str  # the engine's precision mode
    words: int  # words in the script
    generations: int  # generations the plan cut it into
    audio_s: float  # seconds of audio rendered
    wall_s: float  # seconds it took, files written (model loading excluded)
    audio_per_s: float  # audio seconds rendered per wall second (> 1: faster than real time)
    ms_per_frame: float  # wall time per rendered frame (Dia2, Mimi decode and all)


def bench_dialogue(name: str, engine, words: int, seed: int = 1) -> DialogueBench:
    """Render `bench_script(words)` with `engine` (which needs its codec) and time it."""
    from app.dialogue.episode import EpisodeRequest, prepare, render_episode
    from app.tts.options import GenerationOptions

    text = bench_script(words)
    with tempfile.TemporaryDirectory(prefix="dia2-bench-") as tmp:
        request = EpisodeRequest(text, "bench.txt", Path(tmp) / "bench.wav",
                                 options=GenerationOptions(seed=seed))
        prepared = prepare(request)
        if engine.device.type == "cuda":
            torch.cuda.synchronize(engine.device)
        t0 = time.perf_counter()
        result = render_episode(prepared, engine)
        wall = time.perf_counter() - t0
    frames = round(result.seconds * FRAME_RATE)
    return DialogueBench(name, engine.device.type, engine.precision.name, len(prepared.script.words),
                         result.generations, round(result.seconds, 2), round(wall, 2),
                         round(result.seconds / wall, 3), round(1000 * wall / max(frames, 1), 2))


def as_dict(b: DialogueBench) -> dict:
    return asdict(b)
