"""One script from text to finished files: checks, voices, plan, render, outputs, resume.

    request = EpisodeRequest(script_text, "episode.txt", Path("episode.wav"), voices, options)
    prepared = prepare(request)                       # quick checks before any model is loaded
    result = render_episode(prepared, engine, transcribe=make_transcriber(demo=False),
                            on_progress=print)

`say --script`, `say --batch` and the window's dialogue panel all go through here. An
unfinished render lives in the work folder beside the output (`episode.render/`); with
`resume=True` it is continued when what it renders (script, voice files, model, options, seed)
is the same, and refused with the reason when it is not. Without `resume`, an existing
unfinished render is refused rather than overwritten.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import secrets
import tempfile
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from app.core import ASR_RATE, SAMPLE_RATE, Word
from app.dialogue.outputs import EpisodePaths, write_outputs
from app.dialogue.planner import PlanLimits, item_frames, plan_chunks
from app.dialogue.progress import Progress
from app.dialogue.render import EpisodeRenderer, RenderStats
from app.dialogue.script import DialogueScript, parse_dialogue
from app.dialogue.store import RenderStore
from app.dialogue.voices import (
    VoiceSource,
    file_digest,
    from_record,
    prepare_audio,
    read_voice_words,
    to_record,
    voice_max_frames,
    voice_turn,
)
from app.errors import UserError
from app.tts.options import GenerationOptions

log = logging.getLogger(__name__)

MANIFEST_VERSION = 1
_SPACE_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


@dataclass(frozen=True)
class EpisodeRequest:
    """What to render."""

    script: str  # the script's text
    source: str  # its name, for messages and the transcript (e.g. the file name)
    out: Path  # the mix's path; the other outputs go beside it
    voices: dict[int, VoiceSource] = field(default_factory=dict)  # speaker (1, 2) -> voice sample
    options: GenerationOptions = GenerationOptions()  # seed None: one is drawn and kept for resume
    resume: bool = False  # continue an unfinished render of the same episode
    voice_flags: dict[int, str] = field(default_factory=lambda: {
        1: "--voice-words-s1", 2: "--voice-words-s2"})  # the words-file option, for messages


@dataclass(frozen=True)
class Prepared:
    """A request that passed the checks that need no model."""

    request: EpisodeRequest
    script: DialogueScript  # the parsed script
    paths: EpisodePaths  # where everything goes
    voice_audio: dict  # speaker -> float32 samples at 24 kHz
    voice_words: dict  # speaker -> words from the words file, or None (the recogniser's job)


@dataclass(frozen=True)
class EpisodeResult:
    """A finished episode."""

    paths: EpisodePaths  # the files written
    transcript: dict  # transcript.json's content
    seed: int  # the episode's seed
    generations: int  # generations in the plan
    stats: RenderStats  # what this run rendered (replayed generations apart)

    @property
    def seconds(self) -> float:
        return float(self.transcript["duration"])


def check_output_folder(out: Path) -> None:
    """Make sure the output's folder exists and takes files (UserError saying what to do)."""
    folder = out.parent
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{folder} is a file, not a folder; choose another output path")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise UserError(f"cannot write in {folder} ({exc.strerror or exc}); choose another "
                        "output folder") from None


def prepare(request: EpisodeRequest) -> Prepared:
    """Everything that can be checked before the models load: the script, the output folder,
    the voice files and words files, an unfinished render in the way."""
    script = parse_dialogue(request.script, request.source)
    paths = EpisodePaths.for_output(request.out)
    check_output_folder(paths.mix)
    store = RenderStore(paths.work)
    if store.exists() and not request.resume:
        raise UserError(
            f"{paths.work} holds an unfinished render of {paths.mix.name}; add --resume to "
            "continue it, or delete that folder to start again"
        )
    old = store.manifest() if request.resume else None
    if old is not None and old.get("script") != _digest(request.script):
        raise UserError(_mismatch(paths, ["script"]))
    audio, words = {}, {}
    for speaker, source in sorted(request.voices.items()):
        audio[speaker] = prepare_audio(source)
        words[speaker] = read_voice_words(source)
    return Prepared(request, script, paths, audio, words)


def make_transcriber(demo: bool) -> Callable:
    """Speech recognition for voice samples without a words file, loaded on first use."""
    holder: list = []

    def transcribe(audio24k: np.ndarray):
        from app.audio.resample import resample

        if not holder:
            from app.asr.recognizer import AsrConfig, Recognizer

            if demo:  # the demo's recogniser: Whisper base from its packages (no download)
                from app.assets.packaged import packaged_asr_config

                holder.append(Recognizer(packaged_asr_config()))
            else:
                holder.append(Recognizer(AsrConfig()))
        words = holder[0].transcribe(resample(audio24k, SAMPLE_RATE, ASR_RATE))
        return tuple(Word(w.text, w.start, w.end) for w in words)

    return transcribe


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _manifest(prepared: Prepared, engine, options: GenerationOptions, digests: dict,
              limits: PlanLimits, chunks) -> dict:
    return {
        "version": MANIFEST_VERSION,
        "script": _digest(prepared.request.script),
        "voices": digests,
        "model": [str(engine.source), engine.precision.name, engine.device.type],
        "options": {k: v for k, v in asdict(options).items() if k != "seed"},
        "seed": options.seed,
        "limits": asdict(limits),
        "plan": [[[p.turn, p.start, p.stop] for p in c.pieces] for c in chunks],
    }


_WHAT = {"script": "script", "voices": "voice files", "model": "model, precision or device",
         "options": "generation options", "seed": "seed",
         "limits": "model context or voice sample length",
         "plan": "plan of generations (another version of the app)",
         "version": "version of the app"}


def _mismatch(paths: EpisodePaths, keys: list[str]) -> str:
    what = ", ".join(dict.fromkeys(_WHAT.get(k, k) for k in keys))
    return (f"the unfinished render in {paths.work} was made with another {what}; use the same "
            "to resume it, or delete that folder to start again")


def _load_voices(prepared: Prepared, engine, transcribe, store: RenderStore | None, vmax: int):
    """The voice turns: from the work folder when resuming on the same files, else made now."""
    if store is not None:
        kept = store.load_voices()
        if kept is not None and sorted(kept) == sorted(prepared.request.voices):
            return [from_record(s, *kept[s]) for s in sorted(kept)]
    turns = []
    for speaker in sorted(prepared.voice_audio):
        turns.append(voice_turn(
            speaker, prepared.request.voices[speaker], prepared.voice_audio[speaker],
            prepared.voice_words[speaker], engine.codec.encode, transcribe, vmax,
            prepared.request.voice_flags.get(speaker, "a words file")))
    return turns


def render_episode(prepared: Prepared, engine, *, transcribe: Callable | None = None,
                   on_progress: Callable[[Progress], None] | None = None,
                   on_audio: Callable[[np.ndarray], None] | None = None,
                   cancel: threading.Event | None = None,
                   keep_work: bool = False) -> EpisodeResult:
    """Render (or finish rendering) one episode and write its files.

    `keep_work` leaves the work folder (the codes and records of every generation) in place
    after the outputs are written, for inspection; normally it is removed.

    Raises UserError for what the user can fix (including a full disk: what was rendered is
    kept and `--resume` continues it), `RenderCancelled` when `cancel` was set.
    """
    req, paths = prepared.request, prepared.paths
    store = RenderStore(paths.work)
    old = store.manifest() if req.resume else None
    context = int(engine.config.max_context_steps)
    vmax = voice_max_frames(context)
    digests = {f"S{s}": [file_digest(v.audio), file_digest(v.words)]
               for s, v in sorted(req.voices.items())}
    kept = old is not None and old.get("voices") == digests
    voices = _load_voices(prepared, engine, transcribe or make_transcriber(False),
                          store if kept else None, vmax)
    limits = PlanLimits.for_model(context, int(engine.config.data.max_delay),
                                  req.options.initial_padding, sum(v.frames for v in voices))
    tokens = engine.tokenizer.encode

    def frames_of(item) -> int:
        return item_frames(item, lambda w: len(tokens(f"[S2] {w}")))

    chunks = plan_chunks(prepared.script, frames_of, limits)
    seed = req.options.seed
    if seed is None:
        seed = int(old["seed"]) if old is not None and "seed" in old else secrets.randbits(31)
    options = replace(req.options, seed=seed)
    manifest = _manifest(prepared, engine, options, digests, limits, chunks)
    if old is not None:
        differs = [k for k in manifest if old.get(k) != manifest[k]]
        if differs:
            raise UserError(_mismatch(paths, differs))
    else:
        try:
            store.create(manifest)
            store.save_voices({v.speaker: to_record(v) for v in voices})
        except OSError as exc:
            raise _write_error(exc, paths, 0, len(chunks)) from None
    renderer = EpisodeRenderer(engine, prepared.script, chunks, limits, voices, options, frames_of,
                               store, on_progress=on_progress, on_audio=on_audio, cancel=cancel)
    try:
        records = renderer.run()
        meta = {"script": req.source, "seed": seed, "model": str(engine.source)}
        data = write_outputs(paths, records, store.audio_path, meta)
    except OSError as exc:
        raise _write_error(exc, paths, store.finished(), len(chunks)) from None
    if not keep_work:
        store.remove()
    return EpisodeResult(paths, data, seed, len(chunks), renderer.stats)


def _write_error(exc: OSError, paths: EpisodePaths, kept: int, total: int) -> UserError:
    where = exc.filename or paths.work
    if exc.errno in _SPACE_ERRORS:
        problem = f"no space left writing {where} ({exc.strerror})"
        fix = "free some space"
    else:
        problem = f"writing {where} failed ({exc.strerror or exc})"
        fix = "fix that"
    return UserError(f"{problem}: {kept} of {total} generations are kept in {paths.work}; {fix} "
                     "and run the same command again with --resume")
