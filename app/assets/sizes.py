"""What each model of the app takes on disk and in GPU memory, computed from the published shapes.

None of these figures is measured on a GPU yet. They are counted:

- Dia2: parameters of the published shapes (../shared/docs/dia2-reference.md, section 2; the 1B
  count is exactly what its 4,305,028,488-byte float32 file holds, the 2B count gives its
  published 7.68 GB) times the bytes a weight takes in the chosen precision, plus the decoder's
  key/value cache for the whole 2-minute context (1,501 steps) with guidance's two rows.
- Mimi: every float of its state (weights and codebook buffers) in float32, as it runs.
- The recogniser on a GPU: Whisper large-v3-turbo's 809 M parameters in float16 (on the CPU,
  base.en int8 takes no GPU memory).
- The local reply model: Qwen2.5-1.5B-Instruct's 1.54 B parameters in bfloat16, counted only
  when replies are made locally.
- `RUNTIME_BYTES` once: the CUDA context, cuBLAS and CTranslate2 workspaces, CUDA-graph pools and
  activations. This one is an estimate, not a count.

Precisions of Dia2 (`--precision`): `reference` (the default on CUDA) keeps float32 weights with
bfloat16 activations and caches; `fast` stores the weights in bfloat16 too; `float32` is float32
throughout. Only the weights and the cache differ between them here.
"""

from __future__ import annotations

from dataclasses import dataclass

GIB = 2**30

PRECISIONS = ("reference", "fast", "float32")  # Dia2 precisions on a GPU
DEFAULT_PRECISION = "reference"  # what `auto` means on CUDA
_BYTES = {  # precision -> (bytes per weight, bytes per cached key/value)
    "reference": (4, 2),
    "fast": (2, 2),
    "float32": (4, 4),
}


@dataclass(frozen=True)
class Dia2Size:
    """One published Dia2 checkpoint's size."""

    params: int  # parameters of the published shape
    file_bytes: int  # its float32 model.safetensors
    file_exact: bool  # file_bytes is the exact byte count (False: the published rounded size)
    layers: int  # decoder layers (each keeps keys and values for the whole context)
    kv_heads: int  # decoder key/value heads
    head_dim: int  # their width
    context_steps: int = 1501  # cache capacity: max_context_steps (1500) + 1
    rows: int = 2  # classifier-free guidance runs a conditional and an unconditional row


DIA2_SIZES: dict[str, Dia2Size] = {
    "nari-labs/Dia2-1B": Dia2Size(1_076_244_736, 4_305_028_488, True, 30, 8, 128),
    "nari-labs/Dia2-2B": Dia2Size(1_919_556_608, 7_680_000_000, False, 28, 8, 128),
}
DIA2_SMALL, DIA2_LARGE = "nari-labs/Dia2-1B", "nari-labs/Dia2-2B"


@dataclass(frozen=True)
class OtherSize:
    """A model other than Dia2."""

    name: str  # short name for tables
    params: int  # parameters (Mimi: every float of its state)
    disk_bytes: int  # its files as downloaded
    gpu_bytes_per_param: int  # as it runs on the GPU (0: runs on the CPU)
    what: str  # where the figures come from


MIMI = OtherSize("Mimi codec", 96_151_393, 4 * 96_151_393, 4,
                 "moshi's Mimi with 32 codebooks: 96,151,393 floats (weights and codebooks), "
                 "float32 file and weights")
ASR_GPU = OtherSize("Whisper large-v3-turbo", 809_000_000, 2 * 809_000_000, 2,
                    "809 M parameters (OpenAI's model card), float16 file and weights")
ASR_CPU = OtherSize("Whisper base.en", 74_000_000, 2 * 74_000_000, 0,
                    "74 M parameters (OpenAI's model card); float16 file, int8 on the CPU")
REPLY_LLM = OtherSize("Qwen2.5-1.5B-Instruct", 1_543_714_304, 2 * 1_543_714_304, 2,
                      "1,543,714,304 parameters (its config's shapes), bfloat16 files and weights")
ASR_SIZES = {"large-v3-turbo": ASR_GPU, "base.en": ASR_CPU}
LLM_SIZES = {"Qwen/Qwen2.5-1.5B-Instruct": REPLY_LLM}

RUNTIME_BYTES = 1 * GIB  # estimate: CUDA context, library workspaces, graph pools, activations


_ALIASES = {"bfloat16": "fast", "bf16": "fast", "fp32": "float32"}  # as --precision accepts


def check_precision(precision: str) -> str:
    """`precision` as one of `PRECISIONS` ("auto" means the CUDA default)."""
    precision = _ALIASES.get(precision, precision)
    if precision == "auto":
        return DEFAULT_PRECISION
    if precision not in _BYTES:
        raise ValueError(f"unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}")
    return precision


def dia2_cache_bytes(size: Dia2Size, precision: str) -> int:
    """GPU bytes of the decoder's key/value cache for the whole context, both guidance rows."""
    per_value = _BYTES[check_precision(precision)][1]
    return 2 * size.layers * size.rows * size.context_steps * size.kv_heads * size.head_dim * per_value


@dataclass(frozen=True)
class Part:
    """One line of a setup's memory: what, GPU bytes, disk bytes, how it was worked out."""

    name: str  # what it is
    gpu_bytes: int  # GPU memory while the app runs (0: on the CPU)
    disk_bytes: int  # its files (0: nothing to download)
    basis: str  # "count" (from the published shapes or files) or "estimate"


def setup_parts(dia2: str, *, precision: str = DEFAULT_PRECISION, asr: str | None = "large-v3-turbo",
                llm: str | None = "Qwen/Qwen2.5-1.5B-Instruct", dia2_size: Dia2Size | None = None,
                cuda: bool = True) -> list[Part]:
    """The memory of one setup, part by part.

    Args:
        dia2: Dia2 repository (a published one, unless `dia2_params` is given).
        precision: Dia2's precision on the GPU.
        asr: the recogniser's size name; a name not in `ASR_SIZES` (or None) adds nothing.
        llm: the local reply model; None when replies come from elsewhere.
        dia2_size: the checkpoint's size when it is known from its files (else the published
            shape of `dia2`, or the 2B's for a checkpoint not known here).
        cuda: whether the models run on a GPU (False: every GPU figure is 0).
    """
    precision = check_precision(precision)
    size = dia2_size or DIA2_SIZES.get(dia2, DIA2_SIZES[DIA2_LARGE])
    params = size.params
    label = dia2.rsplit("/", 1)[-1] if dia2 in DIA2_SIZES else "Dia2"
    wbytes = _BYTES[precision][0]
    g = 1 if cuda else 0
    parts = [
        Part(f"{label} weights ({'float32' if wbytes == 4 else 'bfloat16'}, {precision})",
             g * params * wbytes, size.file_bytes, "count"),
        Part(f"{label} key/value cache (2 min context)", g * dia2_cache_bytes(size, precision), 0,
             "count"),
        Part(f"{MIMI.name} (float32)", g * MIMI.params * MIMI.gpu_bytes_per_param,
             MIMI.disk_bytes, "count"),
    ]
    rec = ASR_SIZES.get(asr or "")
    if rec is not None:
        on_gpu = rec.gpu_bytes_per_param if cuda else 0
        parts.append(Part(f"{rec.name} (recogniser{'' if on_gpu else ', on the CPU'})",
                          rec.params * on_gpu, rec.disk_bytes, "count"))
    reply = LLM_SIZES.get(llm or "")
    if reply is not None:
        parts.append(Part(f"{reply.name} (local replies)",
                          g * reply.params * reply.gpu_bytes_per_param, reply.disk_bytes, "count"))
    if cuda:
        parts.append(Part("CUDA context, workspaces, graphs", RUNTIME_BYTES, 0, "estimate"))
    return parts


def total_gpu(parts: list[Part]) -> int:
    return sum(p.gpu_bytes for p in parts)


def total_disk(parts: list[Part]) -> int:
    return sum(p.disk_bytes for p in parts)


def gib(n: int) -> str:
    """Bytes as GiB with two decimals."""
    return f"{n / GIB:.2f} GiB"
