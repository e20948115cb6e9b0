"""Sound in and out: devices, ring buffers, capture, playback, resampling, files. No Qt.

Public API:

- `RingBuffer(capacity)` (app.audio.ring): lock-free single-producer/single-consumer float32
  ring with overrun/underrun counters; `write`, `read_into`, `read`, `skip`.
- `list_devices()`, `resolve_device(spec, "input"|"output")`, `DeviceInfo`, `choose_rate`
  (app.audio.devices): `--input` / `--output` by name or index; clear errors when absent.
- `Capture(CaptureConfig(device=..., samplerate=...), on_chunk=..., on_error=...)`,
  `CaptureChunk` (app.audio.capture): microphone at the device rate; the reader thread delivers
  chunks with the original samples and 16 kHz / 24 kHz versions; `time_of(sample)` on the
  stream clock.
- `Playback(PlaybackConfig(device=..., samplerate=24000))` (app.audio.playback): `write`,
  `feed(frames)` for an iterator of 1920-sample frames, `flush()`, `wait()`, `play(clip)`;
  the clock: `position()` (pushed-stream sample being heard) and `time_of(sample)`.
- `BlockClock` (app.audio.clock): the sample-position <-> stream-time history both use.
- `resample`, `StreamResampler` (app.audio.resample): soxr, whole or chunked.
- `read_audio(path, rate=None)`, `write_audio(path, samples, rate)`, `atomic_path(path)`
  (app.audio.files): any format libsndfile or FFmpeg reads; atomic writes.

Device classes take the `sounddevice` module, stream factories and clocks as arguments, so tests
can hand in a virtual sound card.
"""

from app.audio.capture import Capture, CaptureChunk, CaptureConfig
from app.audio.clock import BlockClock
from app.audio.devices import DeviceInfo, choose_rate, list_devices, resolve_device
from app.audio.files import atomic_path, read_audio, write_audio
from app.audio.playback import Playback, PlaybackConfig
from app.audio.resample import StreamResampler, resample
from app.audio.ring import RingBuffer

__all__ = [
    "BlockClock",
    "Capture",
    "CaptureChunk",
    "CaptureConfig",
    "DeviceInfo",
    "Playback",
    "PlaybackConfig",
    "RingBuffer",
    "StreamResampler",
    "atomic_path",
    "choose_rate",
    "list_devices",
    "read_audio",
    "resample",
    "resolve_device",
    "write_audio",
]
