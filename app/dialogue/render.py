"""Rendering a planned script: one Dia2 generation after another, through one streaming decoder.

For each planned chunk (`app.dialogue.planner`) the renderer builds the prefix (the voice
samples, then the newest rendered pieces the budget allows), runs one Dia2 generation on the
chunk's text, and decodes the frames it keeps with the episode's single Mimi stream decoder, so
the audio runs on across generations without a seam: the episode's samples are exactly the
streaming decode of all its codes, in order.

A generation's first output frames may re-render the end of its prefix (the reference's crop
keeps `initial_padding` frames before the first word, and the fine codebooks of the prefix's
last frames are sampled again); those frames already exist in the episode, so output begins
at the prefix's last frame at the earliest.

Each finished generation is kept in the work folder (`app.dialogue.store`): its codes, words and
pieces. A resumed render decodes the kept codes again (rebuilding the decoder's state and the
episode's samples) and continues with the next generation, whose seed is the episode's seed plus
its number: the result is the same as an uninterrupted render.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from app.conversation.turns import Turn
from app.core import FRAME_RATE, FRAME_SAMPLES, SAMPLE_RATE, Word
from app.dialogue.planner import Chunk, PlanLimits, choose_history
from app.dialogue.progress import Progress, estimate_left
from app.dialogue.script import DialogueScript, Item, chunk_text
from app.dialogue.store import RenderStore
from app.tts.options import GenerationOptions
from app.tts.script import ScriptParser
from app.tts.stream import AudioFrame, Dia2Stream

log = logging.getLogger(__name__)



class RenderCancelled(Exception):
    """The render was stopped on request; the finished generations are kept."""


@dataclass
class RenderStats:
    """What this run did (for the summary and the benchmark)."""

    generations: int = 0  # generations rendered by this run (replayed ones not counted)
    frames: int = 0  # frames rendered by this run
    seconds: float = 0.0  # wall time of this run's generations
    replayed: int = 0  # generations decoded again from the work folder


def unit_turns(record: dict, codes: np.ndarray, first_index: int, offset_frames: int) -> list[Turn]:
    """The pieces of a finished generation as prefix turns (codes and words of each)."""
    out = []
    for i, u in enumerate(record["units"]):
        a, b = u["start"], u["stop"]
        words = tuple(Word(t, (s - a) / FRAME_RATE, (e - a) / FRAME_RATE) for t, s, e in u["words"])
        out.append(Turn(first_index + i, u["speaker"], words,
                        torch.from_numpy(np.ascontiguousarray(codes[:, a:b])).long(),
                        (offset_frames + a) / FRAME_RATE, (b - a) / FRAME_RATE))
    return out


def speaker_runs(turns: Sequence[Turn]) -> list[list[Turn]]:
    """Consecutive pieces grouped by speaker."""
    out: list[list[Turn]] = []
    for t in turns:
        if out and out[-1][0].speaker == t.speaker:
            out[-1].append(t)
        else:
            out.append([t])
    return out


def joined(run: Sequence[Turn]) -> Turn:
    """Consecutive pieces of one speaker as one turn (they are contiguous audio), so the prefix
    has a speaker tag only where the speaker changes."""
    first = run[0]
    words: list[Word] = []
    shift = 0
    for t in run:
        words += [Word(w.text, w.start + shift / FRAME_RATE, w.end + shift / FRAME_RATE)
                  for w in t.words]
        shift += t.frames
    codes = torch.cat([t.codes for t in run], dim=1) if len(run) > 1 else first.codes
    return Turn(first.index, first.speaker, tuple(words), codes, first.timeline,
                sum(t.duration for t in run))


def plan_ok(plan) -> bool:
    """Whether warm-up starts every word of the prefix: each at its own step, all within it."""
    steps = plan.new_word_steps
    return len(steps) == plan.word_count and max(steps, default=-1) < plan.frames


def fit_prefix(engine, turns: Sequence[Turn]):
    """The prefix plan of `turns`, made safe: returns (plan or None, turns used).

    The first turn's word steps are shifted by the reference's 3-frame offset, so a first turn
    whose last word starts 2 frames before its end puts that word on the next turn's first word:
    warm-up would then start one word too few, and the generation would say the leftover prefix
    word again. Then the oldest rendered piece is left out, or, when the first turn is a voice
    sample, its last word is.
    """
    turns = list(turns)
    while True:
        plan = engine.plan_prefix([t.to_prefix() for t in turns])
        if plan is None or plan_ok(plan):
            return plan, turns
        first = turns[0]
        if first.index >= 0 or len(first.words) <= 1:
            turns = turns[1:]
        else:
            turns[0] = Turn(first.index, first.speaker, first.words[:-1], first.codes,
                            first.timeline, first.duration)
        log.info("prefix: the first turn's last word would collide with the next turn; %s",
                 "left out its oldest piece" if first.index >= 0 else "dropped a voice word")


class EpisodeRenderer:
    """Renders `chunks` of `script` into `store`, continuing what the store already holds.

    Args:
        engine: a `Dia2Engine` with its codec.
        script: the parsed script.
        chunks: the plan (`plan_chunks`).
        limits: the limits the plan was made with.
        voices: the voice sample turns, S1's first; in every prefix.
        options: generation options with the episode's seed set.
        frames_of: worst-case frames of an item (the planner's).
        store: the work folder.
        on_progress: called with a `Progress` as words arrive and generations finish.
        on_audio: called with each new frame's samples (float32 [1920]), e.g. to play them.
        cancel: set to stop; `run` then raises `RenderCancelled`.
    """

    def __init__(self, engine, script: DialogueScript, chunks: Sequence[Chunk], limits: PlanLimits,
                 voices: Sequence[Turn], options: GenerationOptions,
                 frames_of: Callable[[Item], int], store: RenderStore, *,
                 on_progress: Callable[[Progress], None] | None = None,
                 on_audio: Callable[[np.ndarray], None] | None = None,
                 cancel: threading.Event | None = None,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        if options.seed is None:
            raise ValueError("the episode's seed must be set")
        self.engine = engine
        self.script = script
        self.chunks = tuple(chunks)
        self.limits = limits
        self.voices = list(voices)
        self.options = options
        self.frames_of = frames_of
        self.store = store
        self.on_progress = on_progress
        self.on_audio = on_audio
        self.cancel = cancel or threading.Event()
        self.clock = clock
        self.stats = RenderStats()
        self.words_total = len(script.words)
        self._words_done = 0
        self._words_this_run = 0
        self._frames_total = 0
        self._started = 0.0
        self._history: list[Turn] = []  # every rendered piece, oldest first
        self._unit_turn: list[int] = []  # the script turn of each

    # -- the whole episode ---------------------------------------------------------------
    def run(self) -> list[dict]:
        """Render what is not finished yet; returns every generation's record, in order."""
        decoder = self.engine.codec.stream_decoder()
        records: list[dict] = []
        with self.store.open_audio() as audio_file:
            for g in range(self.store.finished()):
                codes, record = self.store.load_generation(g)
                for f in range(codes.shape[1]):
                    audio_file.write(decoder.decode_frame(torch.from_numpy(codes[:, f])).tobytes())
                self._finished(record, codes)
                records.append(record)
                self.stats.replayed += 1
                self._report(g + 1, replaying=True)
            self._started = self.clock()
            for g in range(len(records), len(self.chunks)):
                if self.cancel.is_set():
                    raise RenderCancelled()
                t0 = self.clock()
                codes, record = self._generation(self.chunks[g], decoder, audio_file)
                audio_file.flush()
                self.store.save_generation(g, codes, record)
                self.stats.generations += 1
                self.stats.frames += codes.shape[1]
                self.stats.seconds += self.clock() - t0
                self._finished(record, codes)
                records.append(record)
                self._report(g + 1)
        return records

    def _finished(self, record: dict, codes: np.ndarray) -> None:
        self._history += unit_turns(record, codes, len(self._history), self._frames_total)
        self._unit_turn += [u["turn"] for u in record["units"]]
        self._frames_total += record["frames"]
        self._words_done = sum(len(c.words(self.script)) for c in self.chunks[: record["index"] + 1])

    def _report(self, generation: int, *, replaying: bool = False, extra_words: int = 0,
                extra_frames: int = 0) -> None:
        if self.on_progress is None:
            return
        elapsed = self.clock() - self._started if self._started else 0.0
        done = self._words_done + extra_words
        self.on_progress(Progress(
            done, self.words_total, generation, len(self.chunks),
            (self._frames_total + extra_frames) * FRAME_SAMPLES / SAMPLE_RATE, elapsed,
            estimate_left(done, self.words_total, self._words_this_run, elapsed), replaying))

    # -- one generation -------------------------------------------------------------------
    def _prefix(self, chunk: Chunk):
        """(prefix plan, names of what is in it) for `chunk`."""
        choice = choose_history(self._history, chunk, self.limits)
        groups = speaker_runs(choice.turns)
        plan, used = fit_prefix(self.engine, self.voices + [joined(g) for g in groups])
        heard = sum(1 for t in used if t.index >= 0)
        names = [f"voice S{t.speaker}" for t in used if t.index < 0]
        for group in groups[len(groups) - heard:] if heard else []:
            for t in group:  # the script turns heard (a long turn's pieces named once)
                name = f"turn {self._unit_turn[t.index]}"
                if name not in names:
                    names.append(name)
        return plan, names

    def _generation(self, chunk: Chunk, decoder, audio_file) -> tuple[np.ndarray, dict]:
        engine = self.engine
        plan, names = self._prefix(chunk)
        prefix_frames = plan.frames if plan is not None else 0
        need = prefix_frames + chunk.frames + self.limits.safety_frames
        assert need <= self.limits.context_frames, (need, self.limits)  # the planner's promise
        seed = self.options.seed + chunk.index
        gen = engine.new_generation(replace(self.options, seed=seed), plan)
        parser = ScriptParser(engine.tokenizer.encode, engine.tokenizer.special.speaker1,
                              insert_speaker1=plan is None)
        stream = Dia2Stream(gen, parser, None)
        stream.push_text(chunk_text(chunk.parts(self.script)))
        stream.finish()
        expected = chunk.words(self.script)
        first = max(prefix_frames - 1, 0)  # the earliest absolute frame this generation adds
        base = None
        codes: list[torch.Tensor] = []
        words: list[tuple[str, int]] = []
        for event in stream:
            if self.cancel.is_set():
                stream.cancel()
                raise RenderCancelled()
            if base is None:
                base = max(gen.crop, first)
            if isinstance(event, AudioFrame):
                if event.index + gen.crop < base:
                    continue  # re-renders the prefix's end
                pcm = decoder.decode_frame(event.codes)
                audio_file.write(pcm.tobytes())
                codes.append(event.codes)
                if self.on_audio is not None:
                    self.on_audio(pcm)
            else:
                frame = int(round(event.start * FRAME_RATE)) + gen.crop - base
                words.append((event.word, frame))
                self._words_this_run += 1
                self._report(chunk.index, extra_words=len(words), extra_frames=len(codes))
        said = [w for w, _ in words]
        if gen.truncated or said != [w.text for w in expected]:
            raise RuntimeError(
                f"generation {chunk.index + 1} spoke {len(said)} of its {len(expected)} words "
                f"(truncated: {gen.truncated}); the plan's worst case did not hold"
            )
        frames = len(codes)
        array = torch.stack(codes, dim=1).numpy() if codes else np.zeros((gen.k, 0), np.int64)
        record = {
            "index": chunk.index,
            "seed": seed,
            "frames": frames,
            "bound": chunk.frames + self.limits.safety_frames,
            "prefix_frames": prefix_frames,
            "prefix": names,
            "words": [[w, f] for w, f in words],
            "units": self._units(chunk, words, frames),
        }
        return array, record

    def _units(self, chunk: Chunk, words: list[tuple[str, int]], frames: int) -> list[dict]:
        """The generation's audio cut into its pieces, at the start of each piece's first word
        (the first piece from the start, the last to the end). Each word ends where the next
        starts, and at most its worst case after its own start."""
        bounds = [self.frames_of(w) for w in chunk.words(self.script)]
        ends = []
        for i, (_, start) in enumerate(words):
            nxt = words[i + 1][1] if i + 1 < len(words) else frames
            ends.append(min(nxt, start + bounds[i], frames))
        units: list[dict] = []
        k = 0
        for piece in chunk.pieces:
            n = len(piece.words(self.script))  # every piece has a word (the planner's rule)
            start = 0 if not units else words[k][1]
            if units:
                units[-1]["stop"] = start
            units.append({"turn": piece.turn, "speaker": piece.speaker, "start": start,
                          "stop": frames, "words": [[words[k + j][0], words[k + j][1], ends[k + j]]
                                                    for j in range(n)]})
            k += n
        return units
