"""`main.py bench --echo`: echo cancellers and barge-in decisions through simulated rooms.

The character's speech is played through a simulated room (`app.bench.room`) into the
microphone; in some streams the person speaks over it at a set person-to-echo ratio. Each
*processing* of the microphone (none, AEC3, AEC3 with noise suppression) is run once per stream,
and each *decision* (when to hold and when to interrupt) is run on its output the way
`LiveSession` runs it: 20 ms chunks, Silero voice activity on the same signal, the playhead
position at each chunk. Reported per room:

- ERLE (echo return loss enhancement, dB) while only the character speaks, in the first second
  and after convergence (10 s on): how far the canceller brings the echo down;
- false interruptions and holds per minute of character speech with nobody else speaking;
- per person-to-echo ratio: the share of the person's turns that interrupt, the delay from the
  person's first sample to the hold and to the interruption, how much of the person's level
  survives the processing (dB), and the recogniser's word error rate on the processed turn
  (when a real recogniser is given);
- CPU seconds per second of audio for the processing and for the decision.

Everything is generated from a seed; the same command gives the same table (CPU times aside).
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.audio.echo import AEC_FRAME, EchoCanceller, EchoConfig
from app.audio.files import read_audio
from app.audio.resample import resample
from app.bench.room import ROOMS, Room, background_noise, echo_of
from app.conversation.bargein import BargeInConfig, BargeInDetector, PlayedHistory
from app.core import ASR_RATE, FRAME_SAMPLES, SAMPLE_RATE
from app.errors import UserError

log = logging.getLogger(__name__)

CHUNK = 480  # 20 ms, the capture block
CUT_S = 0.5  # for the word error rate after a barge-in: the reply stops this long after the person
SHARED_AUDIO = Path(__file__).resolve().parents[3] / "shared" / "audio"
ESPEAK_TEXT = (
    "Let me tell you about the river, the bridge and the little cafe beside it, where we sat "
    "for hours and watched the boats go by.",
    "Wait, sorry, can I ask you something about that?",
)


@dataclass(frozen=True)
class EchoBenchConfig:
    """What the echo bench runs."""

    rooms: tuple[str, ...] = tuple(ROOMS)  # keys of `app.bench.room.ROOMS`
    ratios_db: tuple[float, ...] = (-10.0, -5.0, 0.0, 5.0, 10.0)  # person-to-echo ratios
    seconds: float = 60.0  # character speech per stream
    trials: int = 6  # the person's turns per ratio (spread over the stream)
    seed: int = 0  # rooms and noise
    speech: Path | None = None  # folder with the character's and the person's WAVs
    asr_model: str | None = None  # a real recogniser for the word error rate; None: not measured
    processings: tuple[str, ...] = ("raw", "aec3", "aec3+ns")  # what the microphone goes through
    # (name, the signal the gate sees, its logic, the signal voice activity sees); logic
    # "gate": the spectral echo gate; "speech": any speech interrupts (the headphones rule)
    decisions: tuple[tuple[str, str, str, str], ...] = (
        ("ours: spectral gate on the raw mic", "raw", "gate", "raw"),
        ("AEC3, then any speech", "aec3", "speech", "aec3"),
        ("AEC3, then our gate", "aec3", "gate", "aec3"),
        ("AEC3+NS, then our gate", "aec3+ns", "gate", "aec3+ns"),
        ("our gate on the raw mic, voice activity on AEC3", "raw", "gate", "aec3"),
    )


@dataclass
class Trial:
    onset: int  # sample where the person starts
    end: int  # sample where the person's speech ends
    hold: float | None = None  # seconds from onset to the first hold
    fire: float | None = None  # seconds from onset to the interruption


@dataclass
class DecisionResult:
    name: str
    processing: str
    false_fires_per_min: float = 0.0
    false_holds_per_min: float = 0.0
    by_ratio: dict[float, dict] = field(default_factory=dict)
    cpu_per_s: float = 0.0  # the decision's CPU s per audio s (voice activity included)


@dataclass
class RoomResult:
    room: str
    erle_first_s: dict[str, float] = field(default_factory=dict)  # processing -> dB
    erle_converged: dict[str, float] = field(default_factory=dict)
    kept_db: dict[str, dict[float, float]] = field(default_factory=dict)  # processing -> ratio
    wer: dict[str, dict[float, float]] = field(default_factory=dict)  # the person over the reply
    wer_cut: dict[str, dict[float, float]] = field(default_factory=dict)  # reply cut after 0.5 s
    cpu_per_s: dict[str, float] = field(default_factory=dict)  # processing -> CPU s / audio s
    decisions: list[DecisionResult] = field(default_factory=list)


# -- speech ---------------------------------------------------------------------------------------
def speech_pair(folder: Path | None) -> tuple[np.ndarray, np.ndarray, str | None]:
    """(character, person) speech at 24 kHz, and the person's text when it is known.

    The first two WAVs of `folder` (default: the shared recordings), else espeak-ng speech."""
    folder = folder or SHARED_AUDIO
    wavs = sorted(folder.glob("*.wav")) if folder.is_dir() else []
    if len(wavs) >= 2:
        a, _ = read_audio(wavs[0], SAMPLE_RATE)
        b, _ = read_audio(wavs[1], SAMPLE_RATE)
        return a, b, None
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise UserError(f"no speech recordings in {folder} and espeak-ng is not installed; "
                        "give --speech DIR with two WAV files, or install espeak-ng")
    with tempfile.TemporaryDirectory() as tmp:
        out = []
        for i, text in enumerate(ESPEAK_TEXT):
            path = Path(tmp) / f"s{i}.wav"
            subprocess.run([espeak, "-w", str(path), text], check=True, capture_output=True)
            out.append(read_audio(path, SAMPLE_RATE)[0])
    return out[0], out[1], ESPEAK_TEXT[1]


def character_stream(speech: np.ndarray, seconds: float) -> np.ndarray:
    """The character talking for `seconds`: the speech repeated with 0.3 s pauses, -20 dBFS."""
    speech = speech / (np.sqrt(np.mean(speech**2)) + 1e-12) * 0.1
    gap = np.zeros(int(0.3 * SAMPLE_RATE), np.float32)
    n = int(seconds * SAMPLE_RATE)
    parts, have = [np.zeros(int(0.2 * SAMPLE_RATE), np.float32)], int(0.2 * SAMPLE_RATE)
    while have < n:
        parts += [speech, gap]
        have += len(speech) + len(gap)
    return np.clip(np.concatenate(parts)[:n], -1, 1).astype(np.float32)


def _trimmed(x: np.ndarray) -> np.ndarray:
    """`x` without its leading and trailing silence (20 ms frames 40 dB under the loudest), so
    the person's onset is their first sound."""
    k = len(x) // CHUNK
    e = np.mean(x[: k * CHUNK].reshape(k, CHUNK) ** 2, axis=1)
    loud = np.nonzero(e > e.max() * 1e-4)[0]
    return x[loud[0] * CHUNK:(loud[-1] + 1) * CHUNK]


def _active_rms(x: np.ndarray) -> float:
    """RMS over the 20 ms frames within 30 dB of the loudest (the voiced part)."""
    k = len(x) // CHUNK
    e = np.mean(x[: k * CHUNK].reshape(k, CHUNK) ** 2, axis=1)
    return float(np.sqrt(np.mean(e[e > e.max() * 1e-3])))


# -- processing and decisions ---------------------------------------------------------------------
def process(mic: np.ndarray, played: np.ndarray, kind: str) -> tuple[np.ndarray, float]:
    """The microphone after `kind` processing, aligned with the input (the canceller's one-frame
    latency taken out), and the CPU seconds it took."""
    if kind == "raw":
        return mic.copy(), 0.0
    cfg = EchoConfig(noise_suppression=kind.endswith("+ns"))
    aec = EchoCanceller(cfg)
    lead = int(cfg.lead_ms * SAMPLE_RATE / 1000)
    ref = np.concatenate([played[lead:], np.zeros(lead, np.float32)])  # as the app: a bit ahead
    out = np.zeros(len(mic) + AEC_FRAME, np.float32)
    t0 = time.process_time()
    for i in range(0, len(mic), CHUNK):
        out[i:i + CHUNK] = aec.process(mic[i:i + CHUNK], ref[i:i + CHUNK])
    cpu = time.process_time() - t0
    return out[aec.latency:aec.latency + len(mic)], cpu


def decide(signal: np.ndarray, voice16: np.ndarray, played: np.ndarray,
           logic: str) -> tuple[list[int], list[int], float]:
    """Run a decision over a processed stream like `LiveSession` does (20 ms chunks).

    `voice16` is the voice activity per chunk. Returns the chunk ends (samples) where it
    interrupted and where a hold began, and its CPU seconds (voice activity not included)."""
    history = PlayedHistory(seconds=12.0)
    det = BargeInDetector(BargeInConfig(headphones=logic == "speech"), history)
    fires, holds = [], []
    held = False
    t0 = time.process_time()
    pushed = 0
    for c in range(len(signal) // CHUNK):
        end = (c + 1) * CHUNK
        while pushed < min(len(played), end + SAMPLE_RATE):  # the producer runs ahead of the playhead
            history.add(pushed, played[pushed:pushed + FRAME_SAMPLES])
            pushed += FRAME_SAMPLES
        if det.feed(signal[end - CHUNK:end], end, True, bool(voice16[c])):
            fires.append(end)
            det.reset()
            held = False
            continue
        if det.suspects and not held:
            holds.append(end)
        held = det.suspects
    return fires, holds, time.process_time() - t0


def voice_activity(signal: np.ndarray) -> tuple[np.ndarray, float]:
    """Silero's in-speech state after each 20 ms chunk, and the CPU seconds it took."""
    from app.asr.vad import StreamingVad

    vad = StreamingVad()
    x16 = resample(signal, SAMPLE_RATE, ASR_RATE)
    out = np.zeros(len(signal) // CHUNK, bool)
    t0 = time.process_time()
    for c in range(len(out)):
        vad.feed(x16[c * 320:(c + 1) * 320])
        out[c] = vad.in_speech
    return out, time.process_time() - t0


# -- the word error rate --------------------------------------------------------------------------
def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def word_error_rate(ref: list[str], hyp: list[str]) -> float:
    """Levenshtein distance over words / reference length."""
    d = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, d[0] = d[0], i
        for j, h in enumerate(hyp, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (r != h))
    return d[len(hyp)] / max(1, len(ref))


# -- the bench ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Speech:
    """What every room of a run shares: the character's and the person's speech."""

    played: np.ndarray  # the character's stream as the speaker plays it
    person: np.ndarray  # one turn of the person, trimmed and scaled
    p_rms: float  # the person's voiced RMS
    onsets: list[int]  # samples where the person's turns start
    recogniser: object | None  # the real recogniser for the word error rate; None: not measured
    ref_words: list[str] | None  # what the person says, for the word error rate


def bench_echo(config: EchoBenchConfig = EchoBenchConfig(), progress=None) -> list[RoomResult]:
    """Run every room of `config`; `progress(message)` hears what is being done."""
    say = progress or (lambda m: None)
    speech = _speech(config)
    results = []
    for key in config.rooms:
        if key not in ROOMS:
            raise UserError(f"unknown room {key!r}; choose from {', '.join(ROOMS)}")
        room: Room = ROOMS[key]
        say(f"room: {room.name}")
        results.append(_bench_room(config, speech, room, say))
    return results


def _speech(config: EchoBenchConfig) -> _Speech:
    """The character's stream, the person's turn and where it starts, and the recogniser."""
    char, person, person_text = speech_pair(config.speech)
    played = character_stream(char, config.seconds)
    recogniser = None
    if config.asr_model:
        from app.asr.recognizer import AsrConfig, Recognizer

        recogniser = Recognizer(AsrConfig(model=config.asr_model, device="cpu",
                                          allow_download=False))
    person = _trimmed(person / (np.abs(person).max() + 1e-12) * 0.5)
    ref_words = None
    if recogniser is not None:
        ref_words = _words(person_text) if person_text else \
            _words(" ".join(w.text for w in recogniser.transcribe(resample(person, SAMPLE_RATE, ASR_RATE))))
    first = 4.0  # the person's first turn (s): after the first second's figures
    period = (config.seconds - first) / max(1, config.trials)
    if period * SAMPLE_RATE < len(person) + SAMPLE_RATE:
        raise UserError(f"{config.trials} turns of the person do not fit in {config.seconds} s; "
                        "give more --seconds or fewer --trials")
    onsets = [int((first + k * period) * SAMPLE_RATE) for k in range(config.trials)]
    return _Speech(played, person, _active_rms(person), onsets, recogniser, ref_words)


def _bench_room(config: EchoBenchConfig, speech: _Speech, room: Room, say) -> RoomResult:
    """Every processing and decision of `config` through one room."""
    n = len(speech.played)
    echo = echo_of(speech.played, room, seed=config.seed)
    e_rms = _active_rms(echo)
    noise = np.zeros(n, np.float32) if room.noise_db is None else \
        background_noise(n, e_rms * 10 ** (room.noise_db / 20), config.seed)
    streams = {None: echo + noise}
    person_tracks = {}
    for r in config.ratios_db:
        track = np.zeros(n, np.float32)
        for o in speech.onsets:
            track[o:o + len(speech.person)] += speech.person * (e_rms * 10 ** (r / 20) / speech.p_rms)
        person_tracks[r] = track
        streams[r] = np.clip(echo + noise + track, -1, 1)
    res = RoomResult(room.name)
    outs = _measure_processings(config, speech, streams, person_tracks, res)
    if speech.recogniser is not None:
        _measure_cut_wer(config, speech, room, noise, person_tracks, res)
    _measure_decisions(config, speech, streams, outs, res, say)
    return res


def _measure_processings(config: EchoBenchConfig, speech: _Speech, streams: dict,
                         person_tracks: dict, res: RoomResult) -> dict:
    """Run each processing on every stream (ratio None: the character alone); fill in its CPU
    time, ERLE, the person's level kept and the word error rate. Returns the outputs by
    (processing, ratio)."""
    n = len(speech.played)
    outs = {}
    for kind in config.processings:
        cpu = 0.0
        for r, mic in streams.items():
            outs[kind, r], c = process(mic, speech.played, kind)
            cpu += c
        res.cpu_per_s[kind] = cpu / (len(streams) * n / SAMPLE_RATE)
        mic, out = streams[None], outs[kind, None]
        a, b = int(0.2 * SAMPLE_RATE), int(1.2 * SAMPLE_RATE)
        res.erle_first_s[kind] = _erle(mic[a:b], out[a:b])
        res.erle_converged[kind] = _erle(mic[10 * SAMPLE_RATE:], out[10 * SAMPLE_RATE:])
        res.kept_db[kind], res.wer[kind] = {}, {}
        for r in config.ratios_db:
            res.kept_db[kind][r] = _kept_db(outs[kind, None], outs[kind, r], person_tracks[r],
                                            speech)
            if speech.recogniser is not None:
                res.wer[kind][r] = _wer(speech.recogniser, outs[kind, r], speech.onsets,
                                        len(speech.person), speech.ref_words)
    return outs


def _kept_db(alone: np.ndarray, out: np.ndarray, track: np.ndarray, speech: _Speech) -> float:
    """How much of the person's level (`track`) survives in `out` (dB, median over the turns);
    `alone` is the same processing's output without the person (the echo left alone)."""
    kept = []
    for o in speech.onsets:
        s = slice(o, o + len(speech.person))
        residual = np.mean(alone[s] ** 2)
        gain = (np.mean(out[s] ** 2) - residual) / (np.mean(track[s] ** 2) + 1e-20)
        kept.append(10 * np.log10(max(gain, 1e-6)))
    return float(np.median(kept))


def _measure_cut_wer(config: EchoBenchConfig, speech: _Speech, room: Room, noise: np.ndarray,
                     person_tracks: dict, res: RoomResult) -> None:
    """The word error rate when the reply stops as in the app: `CUT_S` after the person starts
    (the speaker goes silent; the room's tail rings on), and the recogniser gets the rest of the
    turn."""
    cut = speech.played.copy()
    for o in speech.onsets:
        cut[o + int(CUT_S * SAMPLE_RATE):o + len(speech.person) + SAMPLE_RATE] = 0.0
    echo_cut = echo_of(cut, room, seed=config.seed)
    for kind in config.processings:
        res.wer_cut[kind] = {}
        for r in config.ratios_db:
            mic = np.clip(echo_cut + noise + person_tracks[r], -1, 1)
            out, _ = process(mic, cut, kind)
            res.wer_cut[kind][r] = _wer(speech.recogniser, out, speech.onsets,
                                        len(speech.person), speech.ref_words)


def _measure_decisions(config: EchoBenchConfig, speech: _Speech, streams: dict, outs: dict,
                       res: RoomResult, say) -> None:
    """Voice activity on every processed stream, then each decision of `config` on them."""
    vads = {}
    vad_cpu = {}
    for kind in config.processings if config.decisions else ():
        for r in streams:
            vads[kind, r], c = voice_activity(outs[kind, r])
            vad_cpu[kind] = vad_cpu.get(kind, 0.0) + c
    for name, kind, logic, vkind in config.decisions:
        say(f"  {name}")
        d = DecisionResult(name, kind)
        # the app's canceller output is one frame (10 ms) late
        latency = AEC_FRAME if kind != "raw" or vkind != "raw" else 0
        fires, holds, cpu = decide(outs[kind, None], vads[vkind, None], speech.played, logic)
        n = len(speech.played)
        minutes = n / SAMPLE_RATE / 60
        d.false_fires_per_min = len(fires) / minutes
        d.false_holds_per_min = len(holds) / minutes
        for r in config.ratios_db:
            fires, holds, c = decide(outs[kind, r], vads[vkind, r], speech.played, logic)
            cpu += c
            d.by_ratio[r] = _turn_figures(fires, holds, speech, latency)
        d.cpu_per_s = (cpu + vad_cpu[vkind]) / (len(streams) * n / SAMPLE_RATE)
        res.decisions.append(d)


def _turn_figures(fires: list[int], holds: list[int], speech: _Speech, latency: int) -> dict:
    """The share of the person's turns that interrupted, and the median delays (s) from the
    person's first sample to the interruption and to the hold (within 0.5 s of the turn's end)."""
    trials = []
    for o in speech.onsets:
        t = Trial(o, o + len(speech.person))
        lim = t.end + SAMPLE_RATE // 2
        f = [x for x in fires if o < x <= lim]
        h = [x for x in holds if o < x <= lim]
        t.fire = (f[0] - o + latency) / SAMPLE_RATE if f else None
        t.hold = (h[0] - o + latency) / SAMPLE_RATE if h else None
        trials.append(t)
    hit = [t.fire for t in trials if t.fire is not None]
    held = [t.hold for t in trials if t.hold is not None]
    return {
        "detected": len(hit) / len(trials),
        "fire_s": float(np.median(hit)) if hit else None,
        "hold_s": float(np.median(held)) if held else None,
    }


def _wer(recogniser, out: np.ndarray, onsets: list[int], length: int,
         ref_words: list[str]) -> float:
    """Mean word error rate of the person's turns (from 0.2 s before to 0.5 s after) in `out`."""
    errs = []
    for o in onsets:
        seg = out[max(0, o - SAMPLE_RATE // 5):o + length + SAMPLE_RATE // 2]
        hyp = _words(" ".join(w.text for w in recogniser.transcribe(resample(seg, SAMPLE_RATE, ASR_RATE))))
        errs.append(word_error_rate(ref_words, hyp))
    return float(np.mean(errs))


def _erle(mic: np.ndarray, out: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(mic.astype(np.float64) ** 2)
                               / (np.sum(out.astype(np.float64) ** 2) + 1e-20)))


# -- the report -----------------------------------------------------------------------------------
def _f(v, fmt="{:.1f}") -> str:
    return "-" if v is None else fmt.format(v)


def markdown(results: list[RoomResult], config: EchoBenchConfig) -> str:
    """The tables for docs/benchmarks.md."""
    ratios = config.ratios_db
    lines = ["### Echo removed (ERLE, dB, character alone) and the person's level kept (dB)", "",
             "| room | processing | ERLE first s | ERLE after 10 s | CPU s / audio s | "
             + " | ".join(f"kept {r:+.0f} dB" for r in ratios)
             + (" | " + " | ".join(f"WER {r:+.0f} dB" for r in ratios)
                + " | " + " | ".join(f"WER cut {r:+.0f} dB" for r in ratios)
                if config.asr_model else "") + " |",
             "| --- " * (5 + len(ratios) * (3 if config.asr_model else 1)) + "|"]
    for res in results:
        for kind in res.erle_first_s:
            row = [res.room, kind, _f(res.erle_first_s[kind]), _f(res.erle_converged[kind]),
                   _f(res.cpu_per_s[kind], "{:.3f}")]
            row += [_f(res.kept_db[kind].get(r)) for r in ratios]
            if config.asr_model:
                row += [_f(res.wer[kind].get(r), "{:.2f}") for r in ratios]
                row += [_f(res.wer_cut[kind].get(r), "{:.2f}") for r in ratios]
            lines.append("| " + " | ".join(row) + " |")
    if not config.decisions:
        return "\n".join(lines) + "\n"
    lines += ["", "### Barge-in: false interruptions, detection and delay", "",
              "| room | decision | false cuts / min | false holds / min | "
              + " | ".join(f"{r:+.0f} dB: cut, hold / cut delay (s)" for r in ratios)
              + " | CPU s / audio s |",
              "| --- " * (5 + len(ratios)) + "|"]
    for res in results:
        for d in res.decisions:
            cells = []
            for r in ratios:
                b = d.by_ratio[r]
                cells.append(f"{b['detected']:.0%}, {_f(b['hold_s'], '{:.2f}')} / "
                             f"{_f(b['fire_s'], '{:.2f}')}")
            lines.append("| " + " | ".join([res.room, d.name, _f(d.false_fires_per_min),
                                            _f(d.false_holds_per_min), *cells,
                                            _f(d.cpu_per_s, "{:.3f}")]) + " |")
    return "\n".join(lines) + "\n"
