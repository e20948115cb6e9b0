"""The models a setup needs, as Hugging Face repositories: what `main.py download` fetches by
default and what the window's first run offers to download."""

from __future__ import annotations

from pathlib import Path

from app.models import hub


def default_asr(device: str = "auto") -> str:
    """The recogniser's size name for this machine (the GPU one when CUDA is present)."""
    from app.asr.recognizer import DEFAULT_MODELS

    if device == "auto":
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    return DEFAULT_MODELS["cuda" if device.startswith("cuda") else "cpu"]


def setup_repos(dia2: list[str], *, mimi: str | None = None, asr: str | None = None,
                llm: str | None = None, device: str = "auto") -> list[str]:
    """Repositories to fetch for Dia2 checkpoints `dia2`, the Mimi codec (None: the default),
    the recogniser `asr` (a size name or repo id; None: the default for the device) and the
    local reply model `llm` (a repo id; "" for none). Local folders and files are left out."""
    from app.asr.models import WHISPER_REPOS
    from app.brains.local_llm import TransformersConfig

    def remote(spec: str | None) -> bool:
        return bool(spec) and not Path(spec).exists() and hub.is_repo_id(spec)

    repos = [r for r in dia2 if remote(r)]
    if mimi is None:
        repos.append(hub.MIMI_REPO)
    elif remote(mimi):
        repos.append(mimi)
    asr = asr or default_asr(device)
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
                         device=opts.device)
    complete = {m.repo_id for m in hub.cached_models(wanted) if m.complete}
    return [r for r in wanted if r not in complete]
