"""Speech recognition with faster-whisper: an utterance in, words with times out.

`Recognizer.transcribe` takes 16 kHz mono audio and returns `Word`s whose times are seconds on
the utterance's own timeline (0 = its first sample), which is what a Dia2 prefix needs. Empty or
silent audio returns no words without touching the model. The model is loaded on first use (or by
`load()`) through an injectable loader, so tests can hand in a tiny local model.

On CUDA, loading ends with a one-second probe run, since CTranslate2 opens cuBLAS only when it
first computes. When the load, the probe or a later transcription fails on the GPU (a missing CUDA
library, an old driver, no memory), the recogniser says so once (`take_notice()`, which the
pipeline, the session start and the commands show; the log has it at INFO), switches to the CPU for good (`base.en` int8 unless a model was named, then that model)
and recognises the same audio there: it never fails turn after turn.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from app.asr.models import resolve_model
from app.core import ASR_RATE, Word
from app.errors import UserError

log = logging.getLogger(__name__)



def _no_tqdm_monitor() -> None:
    """faster-whisper makes a (hidden) tqdm bar for every transcription, and tqdm's first bar
    starts a monitor thread that runs until the process exits, owned by no one; the app shows no
    tqdm bars from recognition, so the monitor is turned off."""
    from tqdm import tqdm

    tqdm.monitor_interval = 0


_no_tqdm_monitor()

#: Default model per device: a small, quick one on the CPU; Whisper large-v3 turbo on a GPU.
DEFAULT_MODELS = {"cpu": "base.en", "cuda": "large-v3-turbo"}


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
    cpu_threads: int = 0  # CTranslate2 threads on the CPU; 0: the app's plan (app.threads)
    silence_dbfs: float = -50.0  # audio whose peak stays below this is not recognised at all
    allow_download: bool = True  # fetch a size name that is not cached yet
    cache_dir: str | None = None  # Hugging Face cache folder; None for the usual one
    cpu_fallback: bool = True  # when CUDA cannot run recognition: say so once, use the CPU


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


def load_whisper(path: str, device: str, compute_type: str, cpu_threads: int) -> SpeechModel:
    """Default model loader: a `faster_whisper.WhisperModel` (on CUDA, after opening the CUDA 12
    libraries CTranslate2 needs: app.asr.cuda_libs)."""
    from faster_whisper import WhisperModel

    if device.startswith("cuda"):
        from app.asr import cuda_libs

        cuda_libs.preload()
    return WhisperModel(path, device=device, compute_type=compute_type, cpu_threads=cpu_threads)


class SpeechModel(Protocol):
    """A model with faster-whisper's `transcribe` API (`faster_whisper.WhisperModel`): audio
    and decoding options in, (segments with their words, information) out."""

    def transcribe(self, audio: np.ndarray, **options: Any) -> tuple[Iterable[Any], Any]: ...


#: What a failing GPU recogniser raises: CTranslate2 reports CUDA and library errors as
#: RuntimeError, an unsupported compute type as ValueError, a library that cannot be opened as
#: OSError.
GPU_ERRORS = (RuntimeError, ValueError, OSError)


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
        loader: Callable[..., SpeechModel] = load_whisper,
        resolver: Callable[..., str | Path] = resolve_model,
    ) -> None:
        self.config = config
        self.device = pick_device(config.device)
        self.compute_type = (
            config.compute_type
            if config.compute_type != "auto"
            else ("float16" if self.device.startswith("cuda") else "int8")
        )
        self.model_name = config.model or DEFAULT_MODELS[
            "cuda" if self.device.startswith("cuda") else "cpu"]
        self._loader = loader
        self._resolver = resolver
        self._model: SpeechModel | None = None
        self._folder: str | Path | None = None  # the loaded model's folder
        self._lock = threading.Lock()
        self.fallback: str | None = None  # why recognition moved from the GPU to the CPU
        self._notice: str | None = None  # the same, until `take_notice` hands it out

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
            model = self._loader(
                str(folder), self.device, self.compute_type, self._cpu_threads()
            )
            if self._on_gpu:
                self._probe(model)
        except GPU_ERRORS as exc:
            if not (self._on_gpu and self.config.cpu_fallback):
                raise UserError(
                    f"cannot load the recognition model {self.model_name!r} on {self.device} "
                    f"({self.compute_type}): {exc}; try --asr-device cpu or another model"
                ) from exc
            self._fall_back(exc, folder)
            return
        self._model, self._folder = model, folder

    @property
    def _on_gpu(self) -> bool:
        return self.device.startswith("cuda")

    def _probe(self, model: SpeechModel) -> None:
        """Run the model once on a second of silence, so that a GPU that cannot compute (cuBLAS
        missing, a driver too old) fails here rather than on the person's first turn."""
        segments, _info = model.transcribe(
            np.zeros(ASR_RATE, dtype=np.float32), language=self.config.language, beam_size=1,
            temperature=[0.0], without_timestamps=True, max_new_tokens=1, vad_filter=False,
            condition_on_previous_text=False)
        for _ in segments:
            pass

    def _fall_back(self, exc: BaseException, gpu_folder: str | Path | None) -> None:
        """Recognise on the CPU from now on: the CPU default model (or the one named), int8. When
        that model is not cached and cannot be fetched, the GPU model's folder runs on the CPU."""
        reason = str(exc).strip() or type(exc).__name__
        gpu_name = self.model_name
        self._model = None  # the GPU model is not used again
        self.device, self.compute_type = "cpu", "int8"
        self.model_name = self.config.model or DEFAULT_MODELS["cpu"]
        try:
            folder = self._resolver(self.model_name, cache_dir=self.config.cache_dir,
                                    allow_download=self.config.allow_download)
        except UserError as missing:
            if gpu_folder is None:
                raise
            log.warning("%s; using %s on the CPU instead", missing, gpu_name)
            self.model_name, folder = gpu_name, gpu_folder
        try:
            self._model = self._loader(str(folder), "cpu", "int8", self._cpu_threads())
        except GPU_ERRORS as cpu_exc:
            raise UserError(
                f"speech recognition cannot run on the GPU ({reason}), nor on the CPU with "
                f"{self.model_name} ({cpu_exc}); try --asr-device cpu with another model"
            ) from cpu_exc
        self._folder = folder
        self.fallback = reason
        self._notice = (
            f"Speech recognition cannot run on the GPU ({reason}); recognising on the CPU with "
            f"{self.model_name} (int8) instead. `uv run main.py doctor` says what to fix "
            "(usually `uv sync`, which installs the CUDA 12 cuBLAS that CTranslate2 needs)."
        )
        log.info("%s", self._notice)

    def _cpu_threads(self) -> int:
        from app.threads import plan_threads

        return self.config.cpu_threads or plan_threads().asr

    def take_notice(self) -> str | None:
        """The message about a move to the CPU, once (None before one, and after it was taken)."""
        with self._lock:
            notice, self._notice = self._notice, None
        return notice

    def transcribe(self, audio: np.ndarray,
                   progress: Callable[[float], None] | None = None) -> list[Word]:
        """Words of 16 kHz mono float32 `audio` ([N]); [] for empty or silent audio.

        `progress(seconds)` is called after each recognised segment with how far it got."""
        audio = np.ascontiguousarray(audio, dtype=np.float32).reshape(-1)
        if is_silent(audio, self.config.silence_dbfs):
            log.debug("silent or empty audio (%d samples): not recognised", len(audio))
            return []
        with self._lock:
            self._load_locked()
            try:
                return self._words(audio, progress)
            except GPU_ERRORS as exc:
                if not (self._on_gpu and self.config.cpu_fallback):
                    raise
                self._fall_back(exc, self._folder)
            return self._words(audio, progress)

    def _words(self, audio: np.ndarray, progress: Callable[[float], None] | None = None) -> list[Word]:
        assert self._model is not None  # loaded (or fallen back) by the caller
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
        total, done = len(audio) / ASR_RATE, 0.0
        for seg in segments:  # a generator: the model runs while it is read
            for w in seg.words or []:
                text = w.word.strip()
                if text:
                    words.append(Word(text, float(w.start), float(w.end), float(w.probability)))
            if progress is not None:  # a segment's end can run past the audio, or back
                done = min(max(done, float(seg.end)), total)
                progress(done)
        return words
