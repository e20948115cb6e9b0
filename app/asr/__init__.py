"""Speech in: voice activity, turn endpointing and recognition with word times. No Qt.

Public API:

- `VadConfig`, `SileroVad`, `StreamingVad`, `SpeechStart`, `SpeechEnd`, `detect_speech(audio16k)`
  (app.asr.vad): the Silero model shipped with faster-whisper, streaming events at 16 kHz.
- `TurnDetector(vad)`, `PushToTalk()`, `Utterance` (app.asr.endpoint): utterances cut from
  `CaptureChunk`s with their audio at 16 kHz (recognition) and 24 kHz (Mimi).
- `AsrConfig`, `Recognizer(config, loader=..., resolver=...)`, `Word` (app.asr.recognizer):
  `Recognizer.transcribe(audio16k) -> list[Word]` with times on the utterance's own timeline;
  empty or silent audio returns [] without loading the model.
- `resolve_model(spec, cache_dir=None, allow_download=True) -> Path` (app.asr.models): a folder,
  or a size name / Hub id taken from the local cache (offline) or downloaded with a progress bar.
- `build_demo_whisper(cache_dir=None) -> Path` (app.asr.demo): a tiny random-weight CTranslate2
  Whisper built locally in about a second (tests of the mechanics). `--demo` recognises with the
  real Whisper base from its packages (`app.assets.packaged.packaged_asr_config`).
"""

from app.asr.endpoint import PushToTalk, TurnDetector, Utterance
from app.asr.models import WHISPER_REPOS, resolve_model
from app.asr.recognizer import DEFAULT_MODELS, AsrConfig, Recognizer
from app.asr.vad import (
    SileroVad,
    SpeechEnd,
    SpeechStart,
    StreamingVad,
    VadConfig,
    detect_speech,
)
from app.core import Word

__all__ = [
    "DEFAULT_MODELS",
    "WHISPER_REPOS",
    "AsrConfig",
    "PushToTalk",
    "Recognizer",
    "SileroVad",
    "SpeechEnd",
    "SpeechStart",
    "StreamingVad",
    "TurnDetector",
    "Utterance",
    "VadConfig",
    "Word",
    "detect_speech",
    "resolve_model",
]
