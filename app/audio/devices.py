"""Sound devices: listing them, finding `--input` / `--output` by name or index, choosing rates,
and the set-up capture and playback share to open a stream (`open_setup`, `DeviceSetup`).

Everything here talks to PortAudio through the `sounddevice` module, which callers may pass in
(`sd=`) so tests can hand in a different backend. PortAudio missing, no device of the wanted kind,
an unknown name, a rate the device refuses: each becomes a `UserError` saying what to do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Literal, Protocol

from app.audio.ring import RingBuffer
from app.errors import UserError

log = logging.getLogger(__name__)

Kind = Literal["input", "output"]

#: Rates tried, in order, when neither the wanted rate nor the device's default is accepted.
FALLBACK_RATES = (48000, 44100, 24000, 32000, 22050, 16000, 96000, 8000)


@dataclass(frozen=True)
class DeviceInfo:
    """One PortAudio device as the user sees it."""

    index: int  # PortAudio device index, stable while the device list does not change
    name: str  # device name as PortAudio reports it
    hostapi: str  # host API name (ALSA, PulseAudio, CoreAudio, WASAPI...)
    max_input_channels: int  # 0 for output-only devices
    max_output_channels: int  # 0 for input-only devices
    default_samplerate: float  # the device's preferred rate in Hz
    is_default_input: bool  # PortAudio's default input device
    is_default_output: bool  # PortAudio's default output device


def load_sounddevice() -> ModuleType:
    """Import `sounddevice`, turning a missing PortAudio library into a `UserError`."""
    try:
        import sounddevice
    except OSError as exc:  # raised when libportaudio cannot be found
        raise UserError(
            "the PortAudio library is missing, so no sound device can be opened; install it "
            "(Debian/Ubuntu: apt-get install libportaudio2; macOS: brew install portaudio)"
        ) from exc
    return sounddevice


def _defaults(sd: ModuleType) -> tuple[int, int]:
    try:
        din, dout = sd.default.device
    except (TypeError, ValueError):
        din = dout = -1
    return (din if din is not None else -1), (dout if dout is not None else -1)


def list_devices(sd: ModuleType | None = None) -> list[DeviceInfo]:
    """All devices PortAudio knows, with the defaults marked."""
    sd = sd or load_sounddevice()
    try:
        raw = sd.query_devices()
        apis = sd.query_hostapis()
    except sd.PortAudioError as exc:
        raise UserError(f"could not list sound devices: {exc}") from exc
    din, dout = _defaults(sd)
    out = []
    for d in raw:
        i = int(d["index"])
        out.append(
            DeviceInfo(
                index=i,
                name=str(d["name"]),
                hostapi=str(apis[d["hostapi"]]["name"]),
                max_input_channels=int(d["max_input_channels"]),
                max_output_channels=int(d["max_output_channels"]),
                default_samplerate=float(d["default_samplerate"]),
                is_default_input=i == din,
                is_default_output=i == dout,
            )
        )
    return out


def _channels(d: DeviceInfo, kind: Kind) -> int:
    return d.max_input_channels if kind == "input" else d.max_output_channels


def find_sound_device(spec: str | int | None, kind: Kind, sd: ModuleType | None = None) -> DeviceInfo:
    """Find the device meant by `spec`: None for the default, an index, or part of a name.

    Name matching is case-insensitive; an exact name wins over a substring, and a substring
    that fits several devices is an error listing them.
    """
    devices = [d for d in list_devices(sd) if _channels(d, kind) > 0]
    flag = "--input" if kind == "input" else "--output"
    if not devices:
        what = "microphone" if kind == "input" else "speaker or headphones"
        raise UserError(
            f"no {kind} device found; connect a {what} (or start PulseAudio/PipeWire) and check "
            f"`main.py devices`"
        )
    if spec is None or spec == "":
        for d in devices:
            if d.is_default_input if kind == "input" else d.is_default_output:
                return d
        log.info("no default %s device; using %s", kind, devices[0].name)
        return devices[0]
    if isinstance(spec, int) or str(spec).strip().lstrip("-").isdigit():
        idx = int(spec)
        for d in devices:
            if d.index == idx:
                return d
        raise UserError(
            f"{flag} {idx}: no {kind} device has that index; `main.py devices` lists them"
        )
    want = str(spec).strip().lower()
    exact = [d for d in devices if d.name.lower() == want]
    if exact:
        return exact[0]
    partial = [d for d in devices if want in d.name.lower()]
    if len(partial) == 1:
        return partial[0]
    if not partial:
        raise UserError(
            f"{flag} {spec!r}: no {kind} device has that name; `main.py devices` lists them"
        )
    names = ", ".join(f"{d.index}: {d.name}" for d in partial)
    raise UserError(f"{flag} {spec!r} fits several devices ({names}); pass the index instead")


def rate_supported(
    device: DeviceInfo, kind: Kind, rate: int, channels: int = 1, sd: ModuleType | None = None
) -> bool:
    """Whether PortAudio accepts `rate` for this device (float32 samples)."""
    sd = sd or load_sounddevice()
    check = sd.check_input_settings if kind == "input" else sd.check_output_settings
    try:
        check(device=device.index, samplerate=rate, channels=channels, dtype="float32")
    except (sd.PortAudioError, ValueError):
        return False
    return True


def choose_rate(
    device: DeviceInfo,
    kind: Kind,
    preferred: int | None = None,
    channels: int = 1,
    sd: ModuleType | None = None,
) -> int:
    """Pick a rate the device accepts: `preferred`, else its own default, else a common one.

    Raises `UserError` when a rate the user asked for (`preferred`) is refused and nothing else is
    acceptable either.
    """
    sd = sd or load_sounddevice()
    candidates = []
    if preferred:
        candidates.append(int(preferred))
    candidates.append(int(device.default_samplerate))
    candidates.extend(FALLBACK_RATES)
    for rate in dict.fromkeys(candidates):
        if rate_supported(device, kind, rate, channels, sd):
            if preferred and rate != preferred:
                log.warning(
                    "%s device %r refuses %d Hz; using %d Hz and resampling",
                    kind,
                    device.name,
                    preferred,
                    rate,
                )
            return rate
    raise UserError(
        f"the {kind} device {device.name!r} accepts none of the usual sample rates with "
        f"{channels} channel(s); choose another device (`main.py devices`)"
    )


def pick_channels(device: DeviceInfo, kind: Kind, sd: ModuleType | None = None) -> int:
    """Mono when the device allows it, otherwise the fewest channels it takes (at most 2)."""
    if rate_supported(device, kind, int(device.default_samplerate), 1, sd):
        return 1
    return max(1, min(2, _channels(device, kind)))


class AudioStream(Protocol):
    """What capture and playback use of a PortAudio stream (`sounddevice.InputStream` or
    `OutputStream`, or a test's stand-in)."""

    @property
    def active(self) -> bool: ...  # running (False once stopped, or when the device went away)

    @property
    def latency(self) -> float: ...  # the latency PortAudio reports, seconds

    @property
    def time(self) -> float: ...  # the stream clock now, seconds

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...


StreamFactory = Callable[..., AudioStream]  # builds a stream from sounddevice's stream arguments


@dataclass(frozen=True)
class DeviceSetup:
    """A sound device ready to open: which one, with how many channels, at what rate, in what
    blocks. Capture and playback both start from one (`open_setup`)."""

    sd: ModuleType  # the `sounddevice` module (or a stand-in with its API)
    kind: Kind  # "input" or "output"
    device: DeviceInfo  # the device `--input` / `--output` named (or the default)
    channels: int  # channels the stream opens with (mono where the device allows it)
    rate: int  # the device rate in Hz the stream runs at
    blocksize: int  # samples per PortAudio callback block

    def ring(self, seconds: float) -> RingBuffer:
        """A ring buffer of `seconds` at the device rate (at least four blocks)."""
        return RingBuffer(max(self.blocksize * 4, round(self.rate * seconds)))

    def stream(self, factory: StreamFactory | None, callback: Callable[..., None],
               **extra: object) -> AudioStream:
        """The PortAudio stream (not started): `factory` (tests) or sounddevice's own, float32."""
        default = self.sd.InputStream if self.kind == "input" else self.sd.OutputStream
        return (factory or default)(device=self.device.index, samplerate=self.rate,
                                    channels=self.channels, dtype="float32",
                                    blocksize=self.blocksize, callback=callback, **extra)

    @contextmanager
    def opening(self) -> Iterator[None]:
        """Turn PortAudio refusing to open or start the stream into a `UserError` that says
        which device and what to try."""
        try:
            yield
        except self.sd.PortAudioError as exc:
            flag = "--input" if self.kind == "input" else "--output"
            raise UserError(
                f"cannot open the {self.kind} device {self.device.name!r} at {self.rate} Hz: "
                f"{exc}; try another {flag} (see `main.py devices`)"
            ) from exc

    def close(self, stream: AudioStream) -> None:
        """Stop and close `stream`; a device already gone is logged, not raised."""
        try:
            stream.stop()
            stream.close()
        except self.sd.PortAudioError as exc:
            log.warning("closing the %s stream failed: %s", self.kind, exc)


def open_setup(spec: str | int | None, kind: Kind, rate: int | None, block_ms: float,
               sd: ModuleType | None = None) -> DeviceSetup:
    """Find the device `spec` names, pick its channels and a rate it accepts (`rate` if it
    can), and the block size for `block_ms`. Raises `UserError` as `find_sound_device` and
    `choose_rate` do."""
    sd = sd or load_sounddevice()
    device = find_sound_device(spec, kind, sd)
    channels = pick_channels(device, kind, sd)
    chosen = choose_rate(device, kind, rate, channels, sd)
    return DeviceSetup(sd, kind, device, channels, chosen, max(1, round(chosen * block_ms / 1000)))
