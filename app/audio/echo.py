"""Echo cancellation on the microphone path: WebRTC's AEC3 through `livekit`.

The character's voice comes back into the microphone from the speakers. `EchoCanceller` removes
it from the microphone before anything else hears it (voice activity, barge-in, recognition, the
recording), given the *reference*: exactly what the speakers were playing while each microphone
sample was captured (built by the caller from the playback clock, see
`app.conversation.live`).

The canceller is WebRTC's audio processing module (AEC3: a delay estimator, adaptive linear
filters and a residual echo suppressor; optionally its noise suppressor and high-pass filter),
as shipped in the `livekit` package (`livekit.rtc.AudioProcessingModule`, Apache-2.0 with
WebRTC's BSD licence). It works on 10 ms frames of 16-bit audio; `process` takes chunks of any
length at 24 kHz and returns as many samples, delayed by exactly one frame (10 ms) so that every
output sample has been through a whole frame.

Runs on the capture reader thread, never in an audio callback. Not thread-safe: one thread calls
`process`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from app.core import SAMPLE_RATE
from app.errors import UserError

log = logging.getLogger(__name__)

AEC_FRAME = SAMPLE_RATE // 100  # 10 ms: the frame AEC3 works on
CANCELLERS = ("aec3", "spectral")  # the choices `EchoConfig.canceller` accepts


@dataclass(frozen=True)
class EchoConfig:
    """How the microphone is cleaned of the character's echo."""

    canceller: str = "aec3"  # "aec3": WebRTC's canceller on the microphone; "spectral": none,
    #                          the echo is only told apart by the spectral barge-in gate
    noise_suppression: bool = True  # also WebRTC's noise suppressor (steady noise: fans, hum);
    #                                 on by default: fewer false interruptions (docs/benchmarks.md)
    high_pass: bool = True  # WebRTC's high-pass filter (removes rumble below ~80 Hz)
    lead_ms: int = 30  # the reference is taken this far ahead of the capture time, so clock
    #                    errors up to this much never make it lag the echo (AEC3 needs the echo
    #                    to come after its reference; it finds the delay itself)

    def __post_init__(self) -> None:
        if self.canceller not in CANCELLERS:
            raise UserError(f"unknown echo canceller {self.canceller!r}; choose one of "
                            f"{', '.join(CANCELLERS)}")


def load_apm(echo: bool = True, noise: bool = False, high_pass: bool = True):
    """A new `livekit.rtc.AudioProcessingModule`, or a `UserError` saying how to get one."""
    try:
        from livekit import rtc
    except ImportError as exc:  # pragma: no cover - a broken install
        raise UserError("echo cancellation needs the `livekit` package (uv sync installs it); "
                        "or choose --echo-canceller spectral") from exc
    return rtc, rtc.AudioProcessingModule(echo_cancellation=echo, noise_suppression=noise,
                                          high_pass_filter=high_pass)


class EchoCanceller:
    """WebRTC AEC3 on a 24 kHz microphone stream with its played reference.

    Args:
        config: what to switch on (its `canceller` is not looked at: this is AEC3).
    """

    def __init__(self, config: EchoConfig = EchoConfig()) -> None:
        self.config = config
        self._rtc, self._apm = load_apm(True, config.noise_suppression, config.high_pass)
        self._mic = np.zeros(0, dtype=np.float32)  # microphone samples not yet a whole frame
        self._ref = np.zeros(0, dtype=np.float32)  # their reference samples
        self._out = np.zeros(AEC_FRAME, dtype=np.float32)  # processed, not yet returned (one frame)
        self.frames = 0  # 10 ms frames processed
        self._apm.set_stream_delay_ms(int(config.lead_ms))

    @property
    def latency(self) -> int:
        """Samples by which the output lags the input (one frame)."""
        return AEC_FRAME

    def process(self, mic: np.ndarray, reference: np.ndarray) -> np.ndarray:
        """Clean `mic` ([N] float32, 24 kHz) of the echo of `reference` ([N], what the speakers
        played at each microphone sample's capture time, or a little ahead of it). Returns [N]
        cleaned samples, one 10 ms frame behind the input."""
        mic = np.asarray(mic, dtype=np.float32).reshape(-1)
        ref = np.asarray(reference, dtype=np.float32).reshape(-1)
        if len(ref) != len(mic):
            raise ValueError(f"reference has {len(ref)} samples for {len(mic)} of microphone")
        self._mic = np.concatenate([self._mic, mic])
        self._ref = np.concatenate([self._ref, ref])
        whole = len(self._mic) // AEC_FRAME * AEC_FRAME
        done = [self._out]
        for i in range(0, whole, AEC_FRAME):
            done.append(self._frame(self._mic[i:i + AEC_FRAME], self._ref[i:i + AEC_FRAME]))
        self._mic, self._ref = self._mic[whole:], self._ref[whole:]
        out = np.concatenate(done)
        self._out = out[len(mic):]
        return out[:len(mic)]

    def _frame(self, mic: np.ndarray, ref: np.ndarray) -> np.ndarray:
        rtc = self._rtc
        r = rtc.AudioFrame(_pcm16_bytes(ref), SAMPLE_RATE, 1, AEC_FRAME)
        self._apm.process_reverse_stream(r)
        m = rtc.AudioFrame(bytearray(_pcm16_bytes(mic)), SAMPLE_RATE, 1, AEC_FRAME)
        self._apm.process_stream(m)
        self.frames += 1
        return np.frombuffer(m.data, dtype=np.int16).astype(np.float32) / 32767.0


def _pcm16_bytes(x: np.ndarray) -> bytes:
    return (np.round(np.clip(x, -1.0, 1.0) * 32767.0)).astype(np.int16).tobytes()
