"""The parts a session is set up from: the models, the character's voice, the brain, the folder.

`app.conversation.session.Session.open` wires them together.

`SessionOptions` (app/conversation/options.py) is what the user chose; `open_models` loads Dia2 +
Mimi and the recogniser;
`make_session_brain` picks the brain (the character's, or one the user asked for);
`voice_turn` turns the character's voice sample into the speaker-1 turn that opens every prefix;
`new_session_folder` names the recording folder.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from app.conversation.character import Character, voice_words
from app.conversation.options import SessionOptions
from app.conversation.turns import CHARACTER, Turn
from app.core import FRAME_RATE, SAMPLE_RATE
from app.errors import UserError
from app.paths import sessions_root

if TYPE_CHECKING:  # the models' modules import torch; setting a session up names them only
    from app.asr.recognizer import Recognizer
    from app.brains.base import Brain
    from app.tts.engine import Dia2Engine

log = logging.getLogger(__name__)


class Transcriber(Protocol):
    """What a session needs of a recogniser (`app.asr.recognizer.Recognizer`, or a test's):
    16 kHz mono float32 audio in, its words out (`Word`s, objects with text/start/end, or
    (text, start, end) tuples; see `app.conversation.turns.words_from`). A recogniser may also
    have `take_notice() -> str | None` (a move to the CPU, said once)."""

    def transcribe(self, audio: np.ndarray) -> Sequence[Any]: ...


def open_models(opts: SessionOptions, on_step: Callable[[str], None] | None = None,
                ) -> tuple[Dia2Engine, Recognizer]:
    """(Dia2 engine with its codec, recogniser), both loaded: a GPU that cannot recognise moves
    recognition to the CPU here, before anyone speaks (the recogniser's `take_notice` says so).
    `on_step` hears what is being loaded, before each of the two."""
    from app.asr.recognizer import AsrConfig, Recognizer
    from app.assets.choice import TtsChoice
    from app.assets.tts_loader import load_tts

    step = on_step or (lambda _what: None)
    step("the voice model (Dia2 and Mimi)")
    engine = load_tts(TtsChoice(model=opts.model, mimi=opts.mimi, demo=opts.demo,
                                device=opts.device, precision=opts.precision, cuda_graphs=opts.cuda_graphs))
    if opts.demo and opts.asr_model is None:
        from app.assets.packaged import packaged_asr_config

        recognizer = Recognizer(packaged_asr_config())
    else:
        recognizer = Recognizer(AsrConfig(model=opts.asr_model))
    step("speech recognition (Whisper)")
    recognizer.load()
    return engine, recognizer


def start_notes(opts: SessionOptions, engine: Dia2Engine, recognizer: Transcriber) -> list[str]:
    """What the person should know as a session starts: a GPU that torch cannot use, Dia2's
    speed on the CPU, recognition moved to the CPU (each said once; [] when all is well)."""
    from app.diagnostics.notes import start_notes as device_notes

    model = ""
    if not opts.demo:
        from app.assets.setup import choose_dia2

        model = choose_dia2(opts.model, "cpu").model
    params = sum(p.numel() for p in engine.model.parameters())
    notes = device_notes(str(engine.device), params, model, asked_device=opts.device)
    take = getattr(recognizer, "take_notice", None)
    notice = take() if take is not None else None
    return notes + ([notice] if notice else [])


def make_session_brain(character: Character, opts: SessionOptions) -> Brain:
    """The brain for this session."""
    from app.brains.factory import make_brain
    from app.brains.local_llm import TransformersConfig
    from app.brains.openai_compat import OpenAICompatibleConfig
    from app.brains.script import ScriptConfig
    from app.brains.typed import TypedConfig

    kind = opts.brain
    if kind == "character":
        kind = "demo" if opts.demo and isinstance(character.brain, TransformersConfig) else "own"
    if kind == "own":
        return make_brain(character.brain)
    if kind == "demo":  # the built-in small reply model (SmolLM2-135M-Instruct, packaged)
        from app.assets.packaged import packaged_reply_config

        return make_brain(packaged_reply_config())
    if kind == "script":
        if opts.script is None:
            raise UserError("--brain script needs --script FILE (lines starting [S1] and [S2])")
        return make_brain(ScriptConfig(path=opts.script))
    if kind == "openai":
        server = OpenAICompatibleConfig()
        if opts.llm_url:
            server = dataclasses.replace(server, base_url=opts.llm_url)
        if opts.llm_model:
            server = dataclasses.replace(server, model=opts.llm_model)
        return make_brain(server)
    if kind == "transformers":
        local = TransformersConfig()
        if opts.llm_model:
            local = dataclasses.replace(local, model=opts.llm_model)
        return make_brain(local)
    if kind == "typed":
        return make_brain(TypedConfig())
    raise UserError(f"unknown brain {opts.brain!r}; use character, demo, script, openai, transformers or typed")


def voice_turn(character: Character, engine: Dia2Engine, recognizer: Transcriber, max_frames: int,
               cache_dir: Path | None = None) -> Turn | None:
    """The character's voice sample as a speaker-1 turn (cropped on whole words), or None."""
    if character.voice is None:
        return None
    from app.codec.voice import prepare_voice

    audio = prepare_voice(character.voice)
    words = voice_words(character, audio, recognizer.transcribe, cache_dir)
    assert engine.codec is not None  # a session's engine has its codec
    codes = engine.codec.encode(audio)
    turn = Turn(-1, CHARACTER, words, codes, 0.0, len(audio) / SAMPLE_RATE).cropped(max_frames)
    if not turn.words:
        raise UserError(f"the voice sample {character.voice} has no whole word in its first "
                        f"{max_frames / FRAME_RATE:.0f} s; use a recording that starts with speech")
    return turn


def new_session_folder(character: Character, root: Path | None = None) -> Path:
    """A fresh folder named after the time and the character."""
    root = root or sessions_root()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder = root / f"{stamp}-{character.key}"
    n = 1
    while folder.exists():
        n += 1
        folder = root / f"{stamp}-{character.key}-{n}"
    return folder
