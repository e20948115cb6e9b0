"""Real scale on the CPU: a random-weight checkpoint of the published Dia2-1B shape, in the
published layout (a 4.3 GB float32 `model.safetensors` named by module path, `config.json`, and
the tokenizer files laid out like ../shared/parity/dia2-real-shape: `tokenizer.json` without
[S1]/[S2], `added_tokens.json`, `tokenizer_config.json`, `special_tokens_map.json`, `vocab.json`,
`merges.txt`), served by the loopback hub server, fetched by the real `main.py download`, loaded
within one copy of the weights, and spoken for a few frames by the real `main.py say`, offline.

It writes about 8.6 GB (the served file and its downloaded copy, the first deleted as soon as it is
fetched) and removes everything at the end, pass or fail. The codec is the demo Mimi (the
published one cannot be downloaded here); it is not what is under test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import soundfile as sf

from app.assets import hub
from app.assets.demo_mimi import save_demo_mimi
from app.bench.checkpoint import write_random_checkpoint
from app.bench.load import measure_in_child
from app.tts.shapes import PUBLISHED, published_config
from app.tts.tokenizer import Dia2Tokenizer
from app.tts.weights import CHUNK_BYTES

# The timeout guards against a hang only: the work is CPU-bound, about 3 minutes on two quiet
# cores, and was 9 minutes on the shared development machine with other work on both cores.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

ROOT = Path(__file__).resolve().parents[2]
REPO = "nari-labs/Dia2-1B"
SCRIPT = "[S1] Hello there, this is the full-size model. [S2] Does it speak?"
STEPS = 24  # generation steps `say` runs (--max-frames)

# What loading may add to the process's resident memory beyond the loaded weights themselves.
# Known costs: the conversion buffer (CHUNK_BYTES, used when the dtype changes), torch's one-time
# lazy initialisations on the first allocations and the Python objects of 440 parameters (tens of
# MB, the same for any model size). The allowance stays below the largest single tensor of the
# file (the text embedding, 49280 x 1024 float32 = 193 MiB), so a loader that held even one whole
# tensor twice (a memory-mapped file, a float32 copy converted afterwards) would exceed it; a
# second copy of the weights (4.1 GB) would exceed it twenty times over.
MARGIN_MB = 128
LARGEST_TENSOR_MB = 49280 * 1024 * 4 / 2**20
assert CHUNK_BYTES / 2**20 < MARGIN_MB < LARGEST_TENSOR_MB

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<repo_name>", "<reponame>",
            "<file_sep>", "<filename>", "<zero>"]  # ids 0..7: BOS/EOS, new word 2, pad 3, zero 7
CORPUS = ["Hello there, this is the full-size model speaking to you today.",
          "Does it speak? Yes, it does, even with random weights it makes a sound.",
          "The quick brown fox jumps over the lazy dog, again and again."]


def write_tokenizer_files(folder: Path, vocab_size: int = 400) -> int:
    """A small GPT-2-style byte-level BPE in the SmolLM-like layout of the real-shape fixture;
    [S1]/[S2] only in added_tokens.json and tokenizer_config.json. Returns [S1]'s id."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(CORPUS * 4, trainer=trainer)
    tok.save(str(folder / "tokenizer.json"))
    tok.model.save(str(folder))  # vocab.json, merges.txt
    s1 = tok.get_vocab_size(with_added_tokens=True)
    added = {"[S1]": s1, "[S2]": s1 + 1}
    (folder / "added_tokens.json").write_text(json.dumps(added, indent=1))
    entry = {"lstrip": False, "normalized": False, "rstrip": False, "single_word": False,
             "special": True}
    decoder = {str(i): {"content": t, **entry} for i, t in enumerate(SPECIALS)}
    decoder.update({str(i): {"content": t, **entry} for t, i in added.items()})
    special = {"bos_token": SPECIALS[0], "eos_token": SPECIALS[0], "unk_token": SPECIALS[0]}
    (folder / "tokenizer_config.json").write_text(json.dumps(
        {"tokenizer_class": "GPT2Tokenizer", "add_prefix_space": False, **special,
         "added_tokens_decoder": decoder, "model_max_length": 8192}, indent=1))
    (folder / "special_tokens_map.json").write_text(json.dumps(special, indent=1))
    return s1


def run_cli(*args: str, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_published_1b_shape_downloads_loads_lean_and_speaks(tmp_path, hub_server, capsys):
    source = tmp_path / "served"
    cache = tmp_path / "hf-cache"
    try:
        t0 = time.perf_counter()
        written = write_random_checkpoint(source, published_config("1b"))
        assert (written.tensors, written.parameters) == (440, 1_076_244_736)
        assert written.file_bytes == PUBLISHED["1b"].weights_bytes
        s1 = write_tokenizer_files(source)
        files = {p.name: p for p in source.iterdir()}
        assert set(files) == {"model.safetensors", "config.json", "tokenizer.json", "vocab.json",
                              "merges.txt", "added_tokens.json", "tokenizer_config.json",
                              "special_tokens_map.json"}
        sha = hub_server.add_repo(REPO, files)
        hub_server.add_repo(hub.MIMI_REPO, {hub.MIMI_FILE: save_demo_mimi(tmp_path / "mimi.safetensors")})

        env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
        env.update(HF_ENDPOINT=hub_server.url, HF_HUB_CACHE=str(cache),
                   HF_HUB_DISABLE_PROGRESS_BARS="1")
        t1 = time.perf_counter()
        got = run_cli("download", "--model", REPO, env=env, timeout=1200)
        assert got.returncode == 0, got.stderr
        t2 = time.perf_counter()
        with capsys.disabled():
            print(f"\nwrote the Dia2-1B shape ({written.file_bytes:,} bytes) in {t1 - t0:.0f} s; "
                  f"download took {t2 - t1:.0f} s")
        snapshot = cache / "models--nari-labs--Dia2-1B" / "snapshots" / sha
        for name, path in files.items():  # every file of the checkpoint, tokenizer files included
            assert (snapshot / name).is_file(), f"download did not fetch {name}"
            assert (snapshot / name).stat().st_size == path.stat().st_size, name
        (source / "model.safetensors").unlink()  # one 4.3 GB copy on disk from here on

        # The snapshot tokenizes as the reference runtime's AutoTokenizer does: [S1] is one token.
        tok = Dia2Tokenizer.load(snapshot / "tokenizer.json", new_word_id=2)
        assert tok.special.speaker1 == s1 and tok.special.speaker2 == s1 + 1
        ids = tok.encode("[S1] Hello there")
        assert ids[0] == s1 and max(ids) < 49280

        # Loading stays within one copy of the weights (plus the allowance above), read straight
        # into float32 parameters, and converted chunk by chunk to the bfloat16 weights of the
        # `fast` precision.
        for precision in ("float32", "fast"):
            load = measure_in_child(snapshot, "cpu", precision)
            added = load.peak_rss_mb - load.rss_before_mb
            weights_mb = load.weights_bytes / 2**20
            with capsys.disabled():
                print(f"loading the Dia2-1B shape on the CPU, {precision}: {load.load_s:.1f} s, "
                      f"peak RSS {load.peak_rss_mb:.0f} MB = {load.rss_before_mb:.0f} before + "
                      f"{added:.0f} added (weights {weights_mb:.0f} MB, allowance {MARGIN_MB} MB)")
            assert load.weights_bytes == written.parameters * (4 if precision == "float32" else 2)
            assert added <= weights_mb + MARGIN_MB, load

        # `say` through the cache, offline: every file it needs was downloaded.
        wav = tmp_path / "out.wav"
        offline = dict(env, HF_HUB_OFFLINE="1")
        said = run_cli("say", SCRIPT, "--model", REPO, "--device", "cpu", "--seed", "0",
                       "--max-frames", str(STEPS), "--json", "-o", str(wav), env=offline,
                       timeout=900)
        assert said.returncode == 0, said.stderr
        report = json.loads(said.stdout)
        # Aligned frame f is final after step f + 17 (delays 16 then 18): steps 0..23 give 7.
        assert report["timings"]["frames"] == STEPS - 18 + 1
        assert sf.info(str(wav)).frames == report["timings"]["frames"] * 1920
        assert report["truncated"]
        with capsys.disabled():
            print(f"say: load {report['timings']['load_s']} s, "
                  f"{report['timings']['ms_per_frame']} ms a step over {STEPS} steps")
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        shutil.rmtree(source, ignore_errors=True)
