"""A virtual sound card for tests: a PulseAudio server with null sinks, reached through PortAudio.

The `pulse_server` fixture uses a PulseAudio server that already answers `pactl info`, or starts
a private user-level one (`pulseaudio -n --daemonize=no ...` with only the native protocol
module, on a socket in a temporary folder) and stops it afterwards. It adds two null sinks at
24 kHz float32 mono, so audio passes through without resampling or requantisation, and with
rewinds off (a rewinding sink re-renders audio its monitor has already delivered, so the monitor
would miss the start of a new stream):

- `mic`: play a file into it (paplay); its monitor `mic.monitor` is the "microphone";
- `spk`: the "speaker" the playback path writes to; its monitor records what was played.

PortAudio reaches PulseAudio through the ALSA `pulse` plugin (Debian: libasound2-plugins), which
picks the sink and source from `PULSE_SINK` / `PULSE_SOURCE` when a stream is opened; `route()`
sets those for the streams a test opens next.

Without pulseaudio (or the plugin) the sound tests skip with the reason; under CI (`CI` set)
they fail instead, so a broken CI setup cannot pass silently.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

PORTAUDIO_DEVICE = "pulse"  # the ALSA pulse plugin's device as PortAudio lists it
SINK_RATE = 24000


def _unavailable(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"virtual sound card unavailable under CI: {reason}")
    pytest.skip(f"virtual sound card unavailable: {reason}")


class PulseServer:
    """Handle on the running server and the sinks made for the tests."""

    def __init__(self, proc: subprocess.Popen | None, workdir: Path | None) -> None:
        self.proc = proc
        self.workdir = workdir
        self.modules: list[str] = []
        suffix = "" if proc is not None else f"_{os.getpid()}"
        self.mic = f"mic{suffix}"
        self.spk = f"spk{suffix}"

    def pactl(self, *args: str) -> str:
        out = subprocess.run(["pactl", *args], capture_output=True, text=True, timeout=10)
        if out.returncode != 0:
            raise RuntimeError(f"pactl {' '.join(args)}: {out.stderr.strip()}")
        return out.stdout.strip()

    def add_sink(self, name: str) -> None:
        module = self.pactl(
            "load-module",
            "module-null-sink",
            f"sink_name={name}",
            f"rate={SINK_RATE}",
            "channels=1",
            "format=float32le",
            "norewinds=1",
        )
        self.modules.append(module)

    def route(self, monkeypatch, sink: str | None = None, source: str | None = None) -> None:
        """Send the streams opened next to `sink` / record them from `source`."""
        if sink is not None:
            monkeypatch.setenv("PULSE_SINK", sink)
        if source is not None:
            monkeypatch.setenv("PULSE_SOURCE", source)

    def paplay(self, path: Path, sink: str) -> subprocess.Popen:
        """Play a file into `sink` from a separate process."""
        return subprocess.Popen(["paplay", f"--device={sink}", str(path)], stderr=subprocess.PIPE)

    def loopback(self, source: str, sink: str, latency_ms: int = 40) -> str:
        """Route `source` into `sink` (module-loopback), e.g. the speaker's monitor into the
        microphone sink: an echo path. Returns the module index for `unload`."""
        module = self.pactl("load-module", "module-loopback", f"source={source}", f"sink={sink}",
                            f"latency_msec={latency_ms}", "source_dont_move=true",
                            "sink_dont_move=true")
        self.modules.append(module)
        return module

    def unload(self, module: str) -> None:
        """Unload a module loaded by one of the helpers."""
        self.pactl("unload-module", module)
        if module in self.modules:
            self.modules.remove(module)

    def close(self) -> None:
        for module in reversed(self.modules):
            try:
                self.pactl("unload-module", module)
            except (RuntimeError, subprocess.TimeoutExpired):
                pass
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)


def _answers() -> bool:
    try:
        return subprocess.run(["pactl", "info"], capture_output=True, timeout=5).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _start_private(mp: pytest.MonkeyPatch) -> PulseServer:
    workdir = Path(tempfile.mkdtemp(prefix="pulse-test-"))
    workdir.chmod(0o700)
    socket = workdir / "native"
    mp.setenv("PULSE_RUNTIME_PATH", str(workdir))
    mp.setenv("PULSE_STATE_PATH", str(workdir))
    proc = subprocess.Popen(
        [
            "pulseaudio",
            "-n",
            "--daemonize=no",
            "--exit-idle-time=-1",
            "--system=false",
            "--use-pid-file=no",
            "--disallow-module-loading=no",
            "--log-target=stderr",
            f"--load=module-native-protocol-unix socket={socket} auth-anonymous=1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    mp.setenv("PULSE_SERVER", f"unix:{socket}")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read()[-800:] if proc.stderr else ""
            shutil.rmtree(workdir, ignore_errors=True)
            _unavailable(f"pulseaudio exited at start: {err.strip()}")
        if _answers():
            return PulseServer(proc, workdir)
        time.sleep(0.1)
    proc.kill()
    shutil.rmtree(workdir, ignore_errors=True)
    _unavailable("pulseaudio did not answer within 15 s")


@pytest.fixture(scope="session")
def pulse_server():
    """A PulseAudio server with `mic` and `spk` null sinks that PortAudio can reach."""
    for tool in ("pactl", "paplay"):
        if shutil.which(tool) is None:
            _unavailable(f"{tool} not found (Debian: apt-get install pulseaudio-utils)")
    mp = pytest.MonkeyPatch()
    server = None
    try:
        if _answers():
            server = PulseServer(None, None)
        elif shutil.which("pulseaudio") is None:
            _unavailable("pulseaudio not found (Debian: apt-get install pulseaudio)")
        else:
            server = _start_private(mp)
        server.add_sink(server.mic)
        server.add_sink(server.spk)
        try:
            import sounddevice as sd
        except OSError:
            _unavailable("PortAudio missing (Debian: apt-get install libportaudio2)")
        sd._terminate()  # re-scan devices now that the server is up
        sd._initialize()
        names = [d["name"] for d in sd.query_devices()]
        if PORTAUDIO_DEVICE not in names:
            _unavailable(
                f"PortAudio has no {PORTAUDIO_DEVICE!r} device ({names}); "
                "install libasound2-plugins"
            )
        yield server
    finally:
        if server is not None:
            server.close()
        mp.undo()
