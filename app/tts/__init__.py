"""Dia2 runtime: loads the published Dia2 checkpoints and streams speech. No Qt here.

Public API (see `engine.py`):

    engine = Dia2Engine.load_folder("Dia2-2B/", device="cuda", precision="reference")
    result = engine.generate("[S1] Hello!", GenerationOptions(), prefix=[...])
    stream = engine.stream(GenerationOptions())
    stream.push_text("[S1] Hello there"); stream.finish()
    for event in stream: ...   # AudioFrame / WordEvent, as soon as each is final

Modules: config (checkpoint config.json), options (user's generation options), precision
(float32 / reference / fast dtypes), tokenizer,
script (script -> entries), state_machine (text action -> text tokens), layers / decoder /
depformer (networks holding weights), weights (strict safetensors loading), cache (preallocated
KV caches), sampling (guidance + sampling, pure tensor functions), prefix (conditioning on earlier
turns), generator (explicit generation state and the frame step), stream (incremental text in,
frames out), engine (the facade).
"""

from app.core import Word
from app.tts.engine import Dia2Engine, GenerationResult
from app.tts.options import GenerationOptions
from app.tts.prefix import PrefixTurn
from app.tts.stream import AudioFrame, Dia2Stream, WordEvent

__all__ = [
    "AudioFrame",
    "Dia2Engine",
    "Dia2Stream",
    "GenerationOptions",
    "GenerationResult",
    "PrefixTurn",
    "Word",
    "WordEvent",
]
