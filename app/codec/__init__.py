"""The audio codec: Kyutai's Mimi through the `moshi` package (load, batch encode/decode,
streaming decode) and voice-sample preparation."""

from app.codec.mimi import (
    DEFAULT_CODEBOOKS,
    MimiCodec,
    MimiStreamDecoder,
    check_audio,
)
from app.codec.voice import prepare_voice

__all__ = [
    "DEFAULT_CODEBOOKS",
    "MimiCodec",
    "MimiStreamDecoder",
    "check_audio",
    "prepare_voice",
]
