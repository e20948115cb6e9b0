"""Thread plans measured on the demo conversation: does Dia2 keep real time beside the other
components, on a quiet machine and next to busy processes?

Each run is the whole demo conversation (`--demo`'s models) in this process, headless: the
greeting, then the person's turns from audio files, each recognised by Whisper base
(CTranslate2), answered by SmolLM2-135M-Instruct (torch, on its own thread) and spoken by the
demo Dia2 + Mimi (torch, on the conversation's worker) while that model is still writing. A thread plan (`app.threads`) is set through DIA2CHAT_THREADS for the
run; `busy` plain `yes > /dev/null` loops compete for the cores meanwhile (started and ended
here). Figures per run: Dia2's mean and worst-reply ms per frame (80 ms is real time), the
recognition time, and the delay from the end of the person's speech to the first frame.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from app.threads import ENV, apply_override, plan_threads

FRAME_MS = 80.0  # one Mimi frame of audio: the real-time budget of a frame step


@dataclass
class ConversationRun:
    """One demo conversation under one thread plan and load."""

    plan: str  # the thread plan (app.threads.ThreadPlan.describe())
    busy: int  # `yes` loops competing for the cores
    repeat: int  # which repetition (0, 1, ...)
    replies: int  # the character's replies timed
    frames: int  # Dia2 frames generated in all
    ms_per_frame: float  # Dia2 + Mimi, frames-weighted mean over the replies
    worst_ms_per_frame: float  # the slowest reply's mean
    realtime_factor: float  # FRAME_MS / ms_per_frame (above 1: faster than real time)
    recognise_s: float  # mean time to recognise a person's turn
    first_frame_s: float  # mean delay, end of the person's speech -> first audio frame
    seconds: float  # wall time of the whole conversation
    load_before: float  # the machine's 1-minute load average before the run (other work)


def _busy_loops(n: int) -> list[subprocess.Popen]:
    return [subprocess.Popen(["yes"], stdout=subprocess.DEVNULL) for _ in range(n)]


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.kill()
    for p in procs:
        p.wait()


def run_conversation(plan: str, busy: int, repeat: int, engine, files: list[Path]) -> ConversationRun:
    """One demo conversation (greeting + a turn per file) with `plan` and `busy` loops."""
    from app.asr.recognizer import Recognizer
    from app.assets.packaged import packaged_asr_config, packaged_reply_config
    from app.brains.local_llm import TransformersBrain
    from app.conversation.character import Character
    from app.conversation.events import TurnTimings
    from app.conversation.headless import read_turns, run_headless
    from app.conversation.session import Session
    from app.conversation.sinks import VirtualSink

    os.environ[ENV] = plan
    brain = TransformersBrain(packaged_reply_config())  # --demo's reply model (SmolLM2)
    # --demo's recogniser (Whisper base), loaded with this plan's threads
    recognizer = Recognizer(replace(packaged_asr_config(), cpu_threads=0))
    recognizer.load()
    turns = read_turns(files)
    timings: list[TurnTimings] = []
    character = Character(name="Ava", persona="Be brief.", greeting="Hi, I'm Ava. What's on your mind?")
    load_before = os.getloadavg()[0]
    loops = _busy_loops(busy)
    try:
        time.sleep(0.5)  # let the loops get going
        t0 = time.perf_counter()
        session = Session.open(character, VirtualSink("instant"), out=None, models=(engine, recognizer),
                               brain=brain, realtime=False,
                               on_event=lambda e: timings.append(e) if isinstance(e, TurnTimings) else None)
        try:
            run_headless(session, turns, greeting=character.greeting)
        finally:
            session.close()
        seconds = time.perf_counter() - t0
    finally:
        _stop(loops)
    replies = [t for t in timings[1:] if t.frames]  # the greeting has no recognition or brain
    frames = sum(t.frames for t in replies)
    ms = sum(t.ms_per_frame * t.frames for t in replies) / max(frames, 1)
    firsts = [t.first_frame_s for t in replies if t.first_frame_s is not None]
    return ConversationRun(
        plan=plan_threads().describe(), busy=busy, repeat=repeat, replies=len(replies),
        frames=frames, ms_per_frame=round(ms, 2),
        worst_ms_per_frame=round(max((t.ms_per_frame for t in replies), default=0.0), 2),
        realtime_factor=round(FRAME_MS / ms, 2) if ms else 0.0,
        recognise_s=round(statistics.mean(t.recognise_s for t in replies), 3) if replies else 0.0,
        first_frame_s=round(statistics.mean(firsts), 3) if firsts else 0.0,
        seconds=round(seconds, 1), load_before=round(load_before, 2))


def bench_thread_plans(plans: list[str], busy_levels: list[int], repeats: int,
                       files: list[Path], report=print) -> list[ConversationRun]:
    """Every plan at every load, `repeats` times, interleaved (plan after plan within one
    repetition, in a rotated order each time) so that a change in the machine's other load
    spreads over all plans. One conversation first, not counted, warms the process up."""
    from app.assets.choice import TtsChoice
    from app.assets.tts_loader import load_tts

    for p in plans:  # malformed plans fail before anything runs
        apply_override(plan_threads(override=""), p)
    saved = os.environ.get(ENV)
    engine = load_tts(TtsChoice(demo=True, device="cpu"))
    runs = []
    try:
        run_conversation(plans[0], 0, -1, engine, files)  # warm-up: first-call costs, not counted
        for repeat in range(repeats):
            for busy in busy_levels:
                k = repeat % len(plans)
                for plan in plans[k:] + plans[:k]:
                    run = run_conversation(plan, busy, repeat, engine, files)
                    report(run)
                    runs.append(run)
    finally:
        if saved is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = saved
    return runs


def as_dict(run: ConversationRun) -> dict:
    return asdict(run)
