"""One whole conversational turn, timed stage by stage, with the real recogniser and reply model.

The person's turns are recordings (the shared Dia2 examples, or any WAV files) played into the
headless pipeline one after the other. Recognition is Whisper base and the replies come from
SmolLM2-135M-Instruct, both from their packages, on the CPU; Dia2 and Mimi are the demo's
random-weight stand-ins (timing of the real Dia2 is `bench`'s other figures' business), and the
"speaker" is a virtual sink, so "first sample heard" has no sound device's output latency in it.

Each stage is measured from the end of the person's speech (the turn's last sample): words
ready (recognised and Mimi-encoded), first reply text (the model's first piece), first audio
(Dia2's first frame), first sample heard (the sink took it).
"""

from __future__ import annotations

import platform
import statistics
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

STAGES = ("words_ready_s", "first_text_s", "first_frame_s", "first_heard_s")
STAGE_NAMES = ("words ready", "first reply text", "first audio", "first sample heard")


@dataclass
class TurnBench:
    """Figures of a few turns (times in ms from the end of the person's speech)."""

    recogniser: str  # which recognition model and how it ran
    reply_model: str  # which reply model
    files: list[str]  # the person's turns, in order
    turns: list[dict] = field(default_factory=list)  # per turn: each stage in ms, and details
    median_ms: dict = field(default_factory=dict)  # per stage: median over the turns after the first
    machine: str = ""  # processor, cores, Python and torch versions
    threads: int = 0  # torch threads

    def as_dict(self) -> dict:
        return asdict(self)


def _ms(value: float | None) -> float | None:
    return None if value is None else round(1000 * value, 1)


def bench_turn(files: list[Path], repeats: int = 1, max_frames: int = 150) -> TurnBench:
    """Play `files` (repeated `repeats` times) as the person's turns; time every reply."""
    import torch

    from app.asr.recognizer import Recognizer
    from app.assets.choice import TtsChoice
    from app.assets.packaged import packaged_asr_config, packaged_reply_config
    from app.assets.tts_loader import load_tts
    from app.brains.factory import make_brain
    from app.conversation.character import find_character
    from app.conversation.events import TurnTimings
    from app.conversation.headless import run_headless
    from app.conversation.pipeline import PipelineConfig
    from app.conversation.session import Session
    from app.conversation.sinks import VirtualSink

    engine = load_tts(TtsChoice(demo=True, device="cpu"))
    asr = packaged_asr_config()
    recognizer = Recognizer(asr)
    recognizer.load()
    brain_config = replace(packaged_reply_config(), device="cpu")
    brain = make_brain(brain_config)
    character = replace(find_character("ava"), greeting="")
    timings: list[TurnTimings] = []

    def on_event(event) -> None:
        if isinstance(event, TurnTimings):
            timings.append(event)

    session = Session.open(character, VirtualSink("instant"), out=None, models=(engine, recognizer),
                           brain=brain, on_event=on_event, realtime=False,
                           config=PipelineConfig(max_frames=max_frames))
    try:
        run_headless(session, list(files) * repeats, timeout=900)
    finally:
        session.close()
    result = TurnBench(
        recogniser=f"Whisper base (packaged), {recognizer.device} {recognizer.compute_type}",
        reply_model=f"SmolLM2-135M-Instruct Q4_1 GGUF (packaged), cpu float32, "
                    f"up to {brain_config.max_new_tokens} tokens",
        files=[str(f) for f in files] * repeats,
        machine=f"{platform.processor() or platform.machine()}, {_cores()} cores, "
                f"Python {platform.python_version()}, torch {torch.__version__}",
        threads=torch.get_num_threads())
    for t in timings:
        row = {name: _ms(getattr(t, name)) for name in STAGES}
        row.update(recognise_ms=_ms(t.recognise_s), encode_ms=_ms(t.encode_s), frames=t.frames,
                   ms_per_frame=round(t.ms_per_frame, 1))
        result.turns.append(row)
    warm = result.turns[1:] or result.turns
    for name in STAGES:
        values = [r[name] for r in warm if r[name] is not None]
        result.median_ms[name] = round(statistics.median(values), 1) if values else None
    return result


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


def default_files() -> list[Path]:
    """The shared recordings beside the repository, if they are there."""
    shared = Path(__file__).resolve().parents[2].parent / "shared" / "audio"
    return sorted(shared.glob("dia2-example-speaker*.wav"), reverse=True)

