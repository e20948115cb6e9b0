"""The models a setup needs, as Hugging Face repositories: what `main.py download` fetches by
default and what the window's first run offers to download; and `choose_dia2`, the one place
where the Dia2 model choice "auto" becomes a checkpoint (CLI, window, download and doctor)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from app.assets import hub

log = logging.getLogger(__name__)

AUTO = "auto"  # the Dia2 model choice that fits the device


@dataclass(frozen=True)
class Dia2Choice:
    """The checkpoint a model choice resolves to, and why."""

    model: str  # a repo id or folder
    reason: str  # one line for people ("" when the user named the model)


def choose_dia2(model: str = AUTO, device: str = "auto", *, precision: str = "auto",
                gpu_total: int | None = None) -> Dia2Choice:
    """The Dia2 checkpoint for the choice `model`: itself, or for "auto" Dia2-2B on a GPU with
    room for the whole 2B setup (in `precision`, with the recogniser and the local reply model on
    the GPU; `app.assets.sizes`), and Dia2-1B otherwise (a smaller GPU, or the CPU).

    Args:
        model: "auto", a repo id or a folder.
        device: where Dia2 will run ("auto", "cpu", "cuda", "cuda:N").
        precision: Dia2's precision on the GPU ("auto": reference).
        gpu_total: the GPU's memory in bytes (0: no GPU); None asks torch.
    """
    if model != AUTO:
        return Dia2Choice(model, "")
    from app.assets import sizes

    if gpu_total is None:
        gpu_total = _gpu_total(device)
    try:
        need = sizes.total_gpu(sizes.setup_parts(sizes.DIA2_LARGE, precision=precision))
    except ValueError:  # an unknown precision: loading the model says so
        need = sizes.total_gpu(sizes.setup_parts(sizes.DIA2_LARGE))
    if gpu_total >= need:
        return Dia2Choice(sizes.DIA2_LARGE, f"the GPU's {sizes.gib(gpu_total)} hold the 2B setup "
                          f"({sizes.gib(need)})")
    if gpu_total:
        return Dia2Choice(sizes.DIA2_SMALL, f"the GPU's {sizes.gib(gpu_total)} are less than the "
                          f"2B setup needs ({sizes.gib(need)})")
    return Dia2Choice(sizes.DIA2_SMALL, "no GPU: the smaller model runs on the CPU")


def _gpu_total(device: str) -> int:
    """Total memory of the CUDA device Dia2 would use; 0 when it runs on the CPU."""
    if device == "cpu":
        return 0
    import torch

    if not torch.cuda.is_available():
        return 0
    try:
        index = int(device.split(":", 1)[1]) if device.startswith("cuda:") else 0
        return int(torch.cuda.get_device_properties(index).total_memory)
    except (RuntimeError, AssertionError, ValueError) as exc:  # a bad index: the load says so
        log.debug("cannot read the memory of %s: %s", device, exc)
        return 0


def default_asr(device: str = "auto") -> str:
    """The recogniser's size name for this machine: the GPU one when CTranslate2 sees a CUDA
    device (as `app.asr.recognizer.Recognizer` picks; recognition does not follow Dia2's
    device)."""
    from app.asr.recognizer import DEFAULT_MODELS, pick_device

    return DEFAULT_MODELS["cuda" if pick_device(device).startswith("cuda") else "cpu"]


def setup_repos(dia2: list[str], *, mimi: str | None = None, asr: str | None = None,
                llm: str | None = None, device: str = "auto", precision: str = "auto") -> list[str]:
    """Repositories to fetch for Dia2 checkpoints `dia2` ("auto" resolved), the Mimi codec (None: the default),
    the recogniser `asr` (a size name or repo id; None: the default for the device) and the
    local reply model `llm` (a repo id; "" for none). Local folders and files are left out."""
    from app.asr.models import WHISPER_REPOS
    from app.brains.local_llm import TransformersConfig

    def remote(spec: str | None) -> bool:
        return bool(spec) and not Path(spec).exists() and hub.is_repo_id(spec)

    repos = [r for r in (choose_dia2(m, device, precision=precision).model for m in dia2)
             if remote(r)]
    if mimi is None:
        repos.append(hub.MIMI_REPO)
    elif remote(mimi):
        repos.append(mimi)
    asr = asr or default_asr()
    asr = WHISPER_REPOS.get(asr, asr)
    if remote(asr):
        repos.append(asr)
    llm = TransformersConfig().model if llm is None else llm
    if remote(llm):
        repos.append(llm)
    return list(dict.fromkeys(repos))


def missing_models(opts, character) -> list[str]:
    """The repositories the session `opts` with `character` needs that are not (completely) in
    the Hugging Face cache: Dia2, Mimi, the recogniser and, when replies come from it, the local
    reply model."""
    from app.brains.local_llm import TransformersConfig

    llm = ""
    if opts.brain == "transformers":
        llm = opts.llm_model or TransformersConfig().model
    elif opts.brain == "character" and isinstance(character.brain, TransformersConfig):
        llm = character.brain.model
    wanted = setup_repos([opts.model], mimi=opts.mimi, asr=opts.asr_model, llm=llm,
                         device=opts.device, precision=opts.precision)
    complete = {m.repo_id for m in hub.cached_models(wanted) if m.complete}
    return [r for r in wanted if r not in complete]
