"""Sound in and out: devices, ring buffers, capture, playback, resampling, files. No Qt.

    ring.py      `RingBuffer(capacity)`: lock-free single-producer/single-consumer float32 ring
                 with overrun/underrun counters
    devices.py   `list_devices()`, `find_sound_device(spec, "input"|"output")`, `DeviceInfo`,
                 `choose_rate`, `open_device`: `--input` / `--output` by name or index, clear
                 errors when absent
    capture.py   `Capture(CaptureConfig(...), on_chunk=..., on_error=...)`, `CaptureChunk`: the
                 microphone at the device rate; the reader thread delivers chunks with the
                 original samples and 16 kHz / 24 kHz versions; `time_of(sample)` on the stream
                 clock
    playback.py  `Playback(PlaybackConfig(...))`: `write`, `feed(frames)`, `flush()`, `wait()`,
                 `play(clip)`; the clock: `position()` and `time_of(sample)`
    clock.py     `BlockClock`: the sample-position <-> stream-time history both use
    echo.py      `EchoCanceller`: WebRTC's AEC3 (livekit) on the microphone
    resample.py  `resample`, `StreamResampler`: soxr, whole or chunked
    files.py     `read_audio(path, rate=None)`, `write_audio(path, samples, rate)`,
                 `atomic_path(path)`: any format libsndfile or FFmpeg reads; atomic writes

Device classes take the `sounddevice` module, stream factories and clocks as arguments, so tests
can hand in a virtual sound card.
"""
