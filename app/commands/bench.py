"""`main.py bench`: speed figures of the Dia2 runtime (a command, not a test)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from app.errors import UserError


def register(sub) -> None:
    p = sub.add_parser(
        "bench",
        help="measure frames per second, time to first audio, prefill time and memory",
        description="Benchmark the Dia2 runtime: the demo model on the CPU and, when a CUDA GPU is "
        "present (or with --device cpu), random-weight models of the published Dia2-1B and Dia2-2B "
        "shapes. --loading instead times loading a full-size checkpoint from disk.",
    )
    _add_runtime_options(p)
    _add_window_and_gpu_check_options(p)
    _add_echo_options(p)
    _add_dialogue_turn_and_agreement_options(p)
    _add_conversation_options(p)
    _add_startup_options(p)
    _add_window_device_options(p)
    p.set_defaults(func=run)


# The options in the order `bench --help` lists them.
def _add_runtime_options(p: argparse.ArgumentParser) -> None:
    """The default bench (the Dia2 runtime's speed) and --loading."""
    p.add_argument("--frames", type=int, default=40, help="frames to time per configuration")
    p.add_argument("--prefixes", default="10,30,60", help="prefix lengths in seconds for prefill timing")
    p.add_argument("--sizes", default="1b,2b", help="published shapes to time (1b, 2b)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                   help="where to time the full-size shapes: auto (CUDA when present, else none), "
                   "cpu (float32; slow, about a second a frame for 1b), cuda")
    p.add_argument("--loading", action="store_true",
                   help="instead: write a random-weight checkpoint of each --sizes shape (full size) "
                   "to a temporary folder and time loading it in a fresh process, with its peak "
                   "memory, from a warm and a dropped page cache")
    p.add_argument("--scratch", help="--loading: folder for the temporary checkpoint (default: the "
                   "system's temporary folder; it needs the checkpoint's size free)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON here")


def _add_window_and_gpu_check_options(p: argparse.ArgumentParser) -> None:
    """--window and --gpu-check."""
    p.add_argument("--window", action="store_true",
                   help="instead: the window's worst event-loop delay during a spoken demo reply "
                   "(needs sound devices)")
    p.add_argument("--gpu-check", action="store_true",
                   help="instead: the one-shot GPU check (graphs vs eager, bfloat16 modes vs "
                   "float32, published shapes' speed, recognition on CUDA); needs an NVIDIA GPU; "
                   "see docs/gpu-check.md")


def _add_echo_options(p: argparse.ArgumentParser) -> None:
    """--echo and what it runs."""
    p.add_argument("--echo", action="store_true",
                   help="instead: echo cancellers and barge-in decisions through simulated rooms "
                   "(ERLE, false interruptions, detection, delay, CPU; no devices)")
    p.add_argument("--rooms", help="--echo: rooms to run, comma-separated (default: all of "
                   "dry, office, reverberant, drift, clipping, noise, hard)")
    p.add_argument("--seconds", type=float, default=60.0,
                   help="--echo: seconds of character speech per stream")
    p.add_argument("--trials", type=int, default=6, help="--echo: the person's turns per ratio")
    p.add_argument("--ratios", default="-10,-5,0,5,10",
                   help="--echo: person-to-echo ratios in dB, comma-separated")
    p.add_argument("--speech", help="--echo: folder with two WAVs, the character's and the "
                   "person's speech (default: the shared recordings, else espeak-ng)")
    p.add_argument("--asr-model", help="--echo: the recognition model (name or folder) for the "
                   "word error rate of the person's turns (default: the Whisper base the packages "
                   "carry; 'none': no word error rate)")
    p.add_argument("--no-barge-in", action="store_true",
                   help="--echo: only the processing table (ERLE, level kept, WER, CPU), not the "
                   "barge-in decisions")


def _add_dialogue_turn_and_agreement_options(p: argparse.ArgumentParser) -> None:
    """--dialogue, --turn and --agreement, with their counts."""
    p.add_argument("--dialogue", action="store_true",
                   help="instead: seconds of audio rendered per second for a long two-speaker "
                   "script (say --script's path), demo model on the CPU and full-size shapes on "
                   "a GPU")
    p.add_argument("--words", type=int, default=600, help="--dialogue: words in the script")
    p.add_argument("--turn", nargs="*", metavar="WAV",
                   help="instead: one whole conversational turn per file (default: the shared "
                   "example recordings) with the real recogniser and reply model on the CPU: "
                   "words ready, first reply text, first audio, first sample heard")
    p.add_argument("--repeats", type=int, default=2, help="--turn: play the files this many times")
    p.add_argument("--agreement", nargs="*", metavar="FOLDER", default=None,
                   help="instead: how often the bfloat16 precision modes' greedy tokens agree with "
                   "float32's, on the CPU, over the cases of parity fixture folders (default: the "
                   "two under tests/fixtures)")


def _add_conversation_options(p: argparse.ArgumentParser) -> None:
    """--conversation and what it runs."""
    p.add_argument("--conversation", action="store_true",
                   help="instead: the demo conversation under CPU thread plans, quiet and next to "
                   "busy processes (how the thread counts were chosen; docs/benchmarks.md)")
    p.add_argument("--plans", default="dia2=1,reply=1,asr=2;dia2=2,reply=1,asr=2;dia2=2,reply=2,asr=4",
                   help="--conversation: thread plans to compare, separated by ';' (see app/threads.py)")
    p.add_argument("--busy", default="0,1", help="--conversation: numbers of `yes` loops to run beside it")
    p.add_argument("--repeat", type=int, default=2, help="--conversation: repetitions of everything")
    p.add_argument("--user-audio", nargs="+", default=[], metavar="FILE",
                   help="--conversation: the person's turns (audio files)")


def _add_startup_options(p: argparse.ArgumentParser) -> None:
    """--startup."""
    p.add_argument("--startup", action="store_true",
                   help="instead: start times in fresh processes: --version, --help, devices "
                        "(with this Python and through uv run), and the demo window: shown, each "
                        "model-loading step, started, the GUI's worst stall meanwhile")


def _add_window_device_options(p: argparse.ArgumentParser) -> None:
    """--window's devices."""
    p.add_argument("--input", help="--window: microphone (name or index)")
    p.add_argument("--output", help="--window: speaker (name or index)")


def run(args: argparse.Namespace) -> int:
    if args.echo:
        return _echo(args)
    if args.startup:
        return _startup(args)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.window:
        return _window(args)
    if args.gpu_check:
        return _gpu_check(args)
    if args.dialogue:
        return _dialogue(args)
    if args.turn is not None:
        return _turn(args)
    if args.agreement is not None:
        return _agreement(args)
    if args.conversation:
        return _conversation(args)
    return _runtime(args)


def _runtime(args: argparse.Namespace) -> int:
    """The Dia2 runtime's speed: the demo model on the CPU, then the published shapes with
    random weights where --device (or a CUDA GPU) allows; or --loading."""
    import torch

    from app.assets.choice import TtsChoice
    from app.assets.tts_loader import load_tts
    from app.bench.tts import as_dict, bench_engine
    from app.tts.shapes import SIZES

    sizes = [s.strip().lower() for s in args.sizes.split(",") if s.strip()]
    if unknown := [s for s in sizes if s not in SIZES]:
        raise UserError(f"--sizes: unknown size {unknown[0]!r}; use {', '.join(SIZES)}")
    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else None
    elif device == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: no CUDA GPU is usable here; use --device cpu")
    if args.loading:
        return _loading(args, sizes, device or "cpu")
    prefixes = tuple(float(s) for s in args.prefixes.split(",") if s)
    results = []
    demo = load_tts(TtsChoice(demo=True, device="cpu"))
    results.append(bench_engine("demo (tiny random Dia2 + Mimi), CPU float32", demo, args.frames, prefixes))
    _print(results[-1])
    if device == "cuda":
        _bench_cuda_shapes(args, sizes, prefixes, demo.tokenizer, results)
    elif device == "cpu":
        _bench_cpu_shapes(args, sizes, prefixes, demo.tokenizer, results)
    else:
        print("no CUDA GPU here: full-size figures need one, or --device cpu (slow)", file=sys.stderr)
    if args.json:
        Path(args.json).write_text(json.dumps([as_dict(r) for r in results], indent=1))
    return 0


def _bench_cuda_shapes(args: argparse.Namespace, sizes: list[str], prefixes: tuple[float, ...],
                       tokenizer, results: list) -> None:
    """Each published shape on the GPU in each precision mode, with and without CUDA graphs;
    each figure printed and appended to `results`."""
    import torch

    from app.bench.tts import bench_engine, full_size_config, random_engine
    from app.tts.precision import FAST_BF16, FLOAT32, REFERENCE_BF16

    dev = torch.device("cuda")
    for size in sizes:
        for prec, graphs in ((REFERENCE_BF16, True), (FAST_BF16, True), (FAST_BF16, False),
                             (FLOAT32, True)):
            torch.cuda.reset_peak_memory_stats()
            eng = random_engine(full_size_config(size), dev, prec, tokenizer, graphs)
            name = f"Dia2-{size.upper()} shape, random weights, {prec.name}, {'CUDA graphs' if graphs else 'eager'}"
            results.append(bench_engine(name, eng, args.frames, prefixes))
            _print(results[-1])
            del eng
            torch.cuda.empty_cache()


def _bench_cpu_shapes(args: argparse.Namespace, sizes: list[str], prefixes: tuple[float, ...],
                      tokenizer, results: list) -> None:
    """Each published shape on the CPU in float32; each figure printed and appended to
    `results`."""
    import torch

    from app.bench.tts import bench_engine, full_size_config, random_engine
    from app.tts.precision import FLOAT32

    for size in sizes:
        eng = random_engine(full_size_config(size), torch.device("cpu"), FLOAT32,
                            tokenizer, False)
        name = f"Dia2-{size.upper()} shape, random weights, float32, CPU"
        results.append(bench_engine(name, eng, args.frames, prefixes))
        _print(results[-1])
        del eng


def _gpu_check(args: argparse.Namespace) -> int:
    import torch

    from app.bench.gpu_check import run_gpu_check

    if not torch.cuda.is_available():
        why = ("this torch build has no CUDA" if torch.version.cuda is None
               else f"torch (CUDA {torch.version.cuda}) sees no usable NVIDIA GPU")
        print(f"bench --gpu-check needs an NVIDIA GPU with CUDA: {why}. "
              "`uv run main.py doctor` says more.", file=sys.stderr)
        return 2
    out = Path(args.json) if args.json else None

    def report(name: str, value: dict) -> None:
        state = "ok" if value["ok"] else f"FAILED: {value['error']}"
        print(f"{name}: {state} ({value['seconds']} s)", flush=True)
        if value["ok"]:
            print(json.dumps(value["result"], indent=1), flush=True)

    result = run_gpu_check(on_part=report)
    if out is not None:
        out.write_text(json.dumps(result, indent=1))
        print(f"written to {out}")
    failed = [k for k, v in result.items() if isinstance(v, dict) and v.get("ok") is False]
    return 1 if failed else 0


def _dialogue(args: argparse.Namespace) -> int:
    import torch

    from app.assets.choice import TtsChoice
    from app.assets.tts_loader import load_tts
    from app.bench.dialogue import as_dict, bench_dialogue
    from app.bench.tts import full_size_config, random_engine
    from app.tts.precision import REFERENCE_BF16

    demo = load_tts(TtsChoice(demo=True, device="cpu"))
    runs = [("demo (tiny random Dia2 + Mimi), CPU float32", demo)]
    if torch.cuda.is_available():
        from app.assets.tts_loader import ensure_demo_mimi
        from app.codec.mimi import MimiCodec

        for size in [s for s in args.sizes.split(",") if s]:
            eng = random_engine(full_size_config(size), torch.device("cuda"), REFERENCE_BF16,
                                demo.tokenizer, True)
            eng.codec = MimiCodec.load(ensure_demo_mimi(), device="cuda",
                                       num_codebooks=eng.config.data.num_codebooks)
            runs.append((f"Dia2-{size.upper()} shape, random weights, reference, CUDA graphs "
                         "(demo Mimi)", eng))
    else:
        print("no CUDA GPU here: full-size figures need one", file=sys.stderr)
    results = []
    for name, engine in runs:
        b = bench_dialogue(name, engine, args.words)
        results.append(b)
        print(f"\n{b.name}\n  {b.words} words in {b.generations} generations: {b.audio_s:.1f} s "
              f"of audio in {b.wall_s:.1f} s = {b.audio_per_s:.2f} s of audio per second "
              f"({b.ms_per_frame:.1f} ms/frame)", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps([as_dict(r) for r in results], indent=1))


def _loading(args: argparse.Namespace, sizes: list[str], device: str) -> int:
    import shutil
    import tempfile
    from dataclasses import asdict

    from app.bench.checkpoint import write_random_checkpoint
    from app.bench.load import measure_in_child
    from app.tts.shapes import PUBLISHED, published_config

    results = []
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="dia2-load-", dir=args.scratch) as tmp:
            need = PUBLISHED[size].weights_bytes
            free = shutil.disk_usage(tmp).free
            if free < need * 1.05:
                raise UserError(f"--loading {size} needs {need / 1e9:.1f} GB free in {tmp} "
                                f"({free / 1e9:.1f} GB are); give --scratch DIR elsewhere")
            t0 = time.perf_counter()
            written = write_random_checkpoint(tmp, published_config(size))
            print(f"\nDia2-{size.upper()} shape: wrote {written.tensors} tensors, "
                  f"{written.parameters:,} parameters, {written.file_bytes:,} bytes in "
                  f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)
            # float32 reads straight into the parameters; fast (bfloat16 weights) converts
            # through the bounded buffer
            for precision in ("float32", "fast"):
                for cold in (False, True):
                    b = measure_in_child(tmp, device, precision, cold=cold)
                    results.append({"size": size, **asdict(b)})
                    added = b.peak_rss_mb - b.rss_before_mb
                    gpu = f", GPU peak {b.gpu_peak_mb:.0f} MB" if b.gpu_peak_mb is not None else ""
                    print(f"  {b.device} {b.precision} ({b.dtype} weights), {'cold' if cold else 'warm'} cache: "
                          f"{b.load_s:.2f} s, {b.file_bytes / b.load_s / 1e6:.0f} MB/s; peak RSS "
                          f"{b.peak_rss_mb:.0f} MB = {b.rss_before_mb:.0f} before + {added:.0f} "
                          f"(weights {b.weights_bytes / 2**20:.0f} MB){gpu}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


def _agreement(args: argparse.Namespace) -> int:
    import torch

    from app.bench.agreement import measure

    root = Path(__file__).resolve().parents[2] / "tests" / "fixtures"
    folders = [Path(f) for f in args.agreement] or [root / "dia2-tiny", root / "dia2-real-shape"]
    for folder in folders:
        if not (folder / "cases-public.json").is_file():
            raise UserError(f"{folder} holds no cases-public.json; give parity fixture folders")
    print(f"CPU, torch {torch.__version__}, {torch.get_num_threads()} thread(s), kernels "
          f"{torch.backends.cpu.get_cpu_capability()} (CPU bfloat16 kernels are not CUDA's)")
    rows = measure(folders)
    for row in rows:
        parts = [f"{row['fixture']}:{row['case']}: float32 {row['float32_frames']} frames"]
        for mode in ("reference", "fast"):
            a = row[mode]
            first, cb0 = (("never" if f is None else f"frame {f}")
                          for f in (a["first_difference"], a["first_codebook0_difference"]))
            parts.append(f"{mode} {a['frames']} frames, {a['codes_equal']:.1%} codes equal, "
                         f"first difference {first} (codebook 0: {cb0})")
        print("; ".join(parts))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


def _window(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from app.bench.window import bench_window

    b = bench_window(args.input, args.output)
    print(f"window: worst event-loop delay {b.worst_ms} ms, mean {b.mean_ms} ms over {b.ticks} "
          f"ticks; reply {b.seconds} s; {b.paints} waveform repaints")
    if args.json:
        Path(args.json).write_text(json.dumps(asdict(b), indent=1))
    return 0


def _startup(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from app.bench.startup import command_times, window_times

    commands = command_times()
    for c in commands:
        print(f"{c.command:<28} median {c.median_s:.3f} s (min {c.min_s:.3f}, max {c.max_s:.3f}), "
              f"peak {c.peak_mb:.0f} MB, exit {c.exit_code}")
    windows = window_times()
    for w in windows:
        steps = ", ".join(f"{what} at {at:.2f} s" for what, at in w.steps_s)
        end = f"started at {w.started_s:.2f} s" if w.started_s is not None else f"failed: {w.failed}"
        print(f"window: shown at {w.shown_s:.2f} s; loading {steps}; {end}; worst GUI stall while "
              f"loading {w.worst_stall_ms:.0f} ms, ending at {w.worst_stall_at_s} s")
    if args.json:
        Path(args.json).write_text(json.dumps({"commands": [asdict(c) for c in commands],
                                               "window": [asdict(w) for w in windows]}, indent=1))
    return 0


def _echo(args: argparse.Namespace) -> int:
    from dataclasses import asdict, replace

    from app.bench.echo import EchoBenchConfig, bench_echo, markdown

    try:
        ratios = tuple(float(r) for r in args.ratios.split(",") if r.strip())
    except ValueError:
        raise UserError(f"--ratios takes numbers in dB separated by commas, not {args.ratios!r}") \
            from None
    asr = args.asr_model
    if asr is None:
        from app.assets.packaged import packaged_whisper

        asr = str(packaged_whisper())  # Whisper base, assembled once from its packages
    cfg = replace(EchoBenchConfig(), seconds=args.seconds, trials=args.trials, ratios_db=ratios,
                  speech=Path(args.speech) if args.speech else None,
                  asr_model=None if asr == "none" else asr)
    if args.no_barge_in:
        cfg = replace(cfg, decisions=())
    if args.rooms:
        cfg = replace(cfg, rooms=tuple(r.strip() for r in args.rooms.split(",") if r.strip()))
    results = bench_echo(cfg, progress=lambda m: print(m, file=sys.stderr, flush=True))
    print(markdown(results, cfg))
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in results], indent=1))
    return 0


def _turn(args: argparse.Namespace) -> int:
    from app.bench.turn import STAGE_NAMES, STAGES, bench_turn, default_files
    from app.errors import UserError

    files = [Path(f) for f in args.turn] or default_files()
    if not files:
        raise UserError("bench --turn needs speech: give one or more WAV files")
    for f in files:
        if not f.is_file():
            raise UserError(f"{f} does not exist; give WAV files of speech")
    if args.repeats < 1:
        raise UserError("--repeats must be at least 1")
    b = bench_turn(files, repeats=args.repeats)
    print(f"{b.recogniser}; {b.reply_model}\n{b.machine}, {b.threads} torch threads")
    print("turn  " + "  ".join(f"{n:>18}" for n in STAGE_NAMES) + "   recognise  frames")
    for i, row in enumerate(b.turns):
        cells = "  ".join(f"{row[s]:>15} ms" if row[s] is not None else f"{'-':>18}" for s in STAGES)
        print(f"{i + 1:>4}  {cells}  {row['recognise_ms']:>7} ms  {row['frames']:>6}")
    print("median after the first turn: " + ", ".join(
        f"{n} {b.median_ms[s]} ms" for n, s in zip(STAGE_NAMES, STAGES, strict=True)))
    if args.json:
        Path(args.json).write_text(json.dumps(b.as_dict(), indent=1))
    return 0


def _conversation(args: argparse.Namespace) -> int:
    import os
    import platform

    import torch

    from app.bench.threads import as_dict, bench_thread_plans
    from app.conversation.headless import read_turns
    from app.errors import UserError

    if not args.user_audio:
        raise UserError("bench --conversation needs --user-audio FILE... (the person's turns)")
    read_turns(args.user_audio)  # readable, before anything runs
    try:
        busy = [int(b) for b in args.busy.split(",") if b.strip()]
    except ValueError:
        raise UserError("--busy takes numbers of loops such as 0,1") from None
    plans = [p.strip() for p in args.plans.split(";") if p.strip()]
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch "
          f"{torch.__version__}; load average before: {os.getloadavg()[0]:.2f}", file=sys.stderr)

    def report(r) -> None:
        print(f"busy {r.busy}  {r.plan:28s} Dia2 {r.ms_per_frame:6.1f} ms/frame (worst reply "
              f"{r.worst_ms_per_frame:6.1f}) = {r.realtime_factor:5.2f}x real time; recognise "
              f"{r.recognise_s:.2f} s; first frame {r.first_frame_s:.2f} s; {r.seconds:.0f} s; "
              f"load before {r.load_before:.1f}",
              flush=True)

    runs = bench_thread_plans(plans, busy, args.repeat, [Path(f) for f in args.user_audio], report)
    if args.json:
        Path(args.json).write_text(json.dumps([as_dict(r) for r in runs], indent=1))
    return 0


def _print(b) -> None:
    print(f"\n{b.name}\n  device {b.device}, precision {b.precision}")
    print(f"  {b.ms_per_frame:.2f} ms/frame = {b.frames_per_s:.1f} frames/s = {b.realtime_factor:.2f}x real time "
          f"(decoder {b.decoder_ms:.2f} ms, depformer {b.depformer_ms:.2f} ms, codec {b.codec_ms} ms)")
    print(f"  time to first audio {b.first_audio_ms} ms; prefill {b.prefill_ms} ms; peak memory {b.peak_memory_mb:.0f} MB")
