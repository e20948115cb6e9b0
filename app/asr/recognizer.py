"""Speech recognition with faster-whisper: an utterance in, words with times out.

`Recognizer.transcribe` takes 16 kHz mono audio and returns `Word`s whose times are seconds on
the utterance's own timeline (0 = its first sample), which is what a Dia2 prefix needs. Empty or
silent audio returns no words without touching the model. The model is loaded on first use
through an injectable loader, so tests can hand in a tiny local model.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from app.asr.models import resolve_model
from app.errors import UserError

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000

#: Default model per device: a small, quick one on the CPU; Whisper large-v3 turbo on a GPU.
DEFAULT_MODELS = {"cpu": "base.en", "cuda": "large-v3-turbo"}


@dataclass(frozen=True)
class Word:
    """One recognised word on its utterance's timeline."""

    text: str  # the word as Whisper spells it, without surrounding spaces
    start: float  # seconds from the utterance's first sample
    end: float  # seconds from the utterance's first sample
    probability: float  # the model's confidence in the word, 0..1


@dataclass(frozen=True)
class AsrConfig:
    """How to recognise speech."""

    model: str | None = None  # size name, Hub id or folder; None: DEFAULT_MODELS[device]
    device: str = "auto"  # "cpu", "cuda" or "auto" (cuda when CTranslate2 sees a GPU)
    compute_type: str = "auto"  # CTranslate2 type; auto: float16 on cuda, int8 on the CPU
    language: str = "en"  # spoken language (English-only models ignore it)
    beam_size: int = 1  # 1 is greedy decoding: fastest, and nearly as good on short turns
    temperatures: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)  # fallback schedule
    max_new_tokens: int | None = None  # cap on tokens per 30 s window; None: the model's limit
    cpu_threads: int = 0  # CTranslate2 threads on the CPU; 0 lets it decide
    silence_dbfs: float = -50.0  # audio whose peak stays below this is not recognised at all
    allow_download: bool = True  # fetch a size name that is not cached yet
    cache_dir: str | None = None  # Hugging Face cache folder; None for the usual one


def pick_device(device: str = "auto") -> str:
    """ "cuda" when asked for or when "auto" and CTranslate2 sees a GPU, else "cpu"."""
    if device != "auto":
        return device
    try:
        import ctranslate2

        return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    except Exception:  # a broken CUDA setup should not stop CPU recognition
        return "cpu"


def is_silent(audio: np.ndarray, dbfs: float) -> bool:
    """True for empty audio or audio whose peak stays below `dbfs` (dB full scale)."""
    if len(audio) == 0:
        return True
    return float(np.max(np.abs(audio))) < 10 ** (dbfs / 20)


def load_whisper(path: str, device: str, compute_type: str, cpu_threads: int):
    """Default model loader: a `faster_whisper.WhisperModel`."""
    from faster_whisper import WhisperModel

    return WhisperModel(path, device=device, compute_type=compute_type, cpu_threads=cpu_threads)


class Recognizer:
    """faster-whisper with word timestamps. Thread-safe: calls are serialised.

    Args:
        config: model and decoding choices.
        loader: `loader(path, device, compute_type, cpu_threads)` returns a model with
            faster-whisper's `transcribe` API; defaults to `load_whisper`.
        resolver: turns `config.model` into a local folder; defaults to `resolve_model`.
    """

    def __init__(
        self,
        config: AsrConfig = AsrConfig(),
        loader: Callable[..., object] = load_whisper,
        resolver: Callable[..., object] = resolve_model,
    ) -> None:
        self.config = config
        self.device = pick_device(config.device)
        self.compute_type = (
            config.compute_type
            if config.compute_type != "auto"
            else ("float16" if self.device == "cuda" else "int8")
        )
        self.model_name = config.model or DEFAULT_MODELS.get(self.device, DEFAULT_MODELS["cpu"])
        self._loader = loader
        self._resolver = resolver
        self._model = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        """Whether the model has been loaded (it is on first `transcribe` or `load`)."""
        return self._model is not None

    def load(self) -> None:
        """Resolve and load the model now (it otherwise happens on first use)."""
        with self._lock:
            self._load_locked()

    def _load_locked(self) -> None:
        if self._model is not None:
            return
        folder = self._resolver(
            self.model_name,
            cache_dir=self.config.cache_dir,
            allow_download=self.config.allow_download,
        )
        log.info("loading recognition model %s on %s (%s)", folder, self.device, self.compute_type)
        try:
            self._model = self._loader(
                str(folder), self.device, self.compute_type, self.config.cpu_threads
            )
        except (RuntimeError, ValueError, OSError) as exc:
            raise UserError(
                f"cannot load the recognition model {self.model_name!r} on {self.device} "
                f"({self.compute_type}): {exc}; try --asr-device cpu or another model"
            ) from exc

    def transcribe(self, audio: np.ndarray) -> list[Word]:
        """Words of 16 kHz mono float32 `audio` ([N]); [] for empty or silent audio."""
        audio = np.ascontiguousarray(audio, dtype=np.float32).reshape(-1)
        if is_silent(audio, self.config.silence_dbfs):
            log.debug("silent or empty audio (%d samples): not recognised", len(audio))
            return []
        with self._lock:
            self._load_locked()
            segments, _info = self._model.transcribe(
                audio,
                language=self.config.language,
                beam_size=self.config.beam_size,
                temperature=list(self.config.temperatures),
                word_timestamps=True,
                condition_on_previous_text=False,
                max_new_tokens=self.config.max_new_tokens,
                vad_filter=False,
            )
            words = []
            for seg in segments:
                for w in seg.words or []:
                    text = w.word.strip()
                    if text:
                        words.append(Word(text, float(w.start), float(w.end), float(w.probability)))
        return words
