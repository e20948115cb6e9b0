"""Reply models given as a single GGUF file (the format of llama.cpp, Ollama, LM Studio...).

transformers reads a GGUF file itself (with the `gguf` package): it rebuilds the model's config
and tokenizer from the file's metadata and de-quantises the weights. That takes tens of seconds
even for a small model (the file's metadata is parsed several times), so the first load saves
the result as an ordinary transformers folder in the user cache, keyed by the file's path, size
and modification time, and later loads read that folder in a fraction of a second. The GGUF file
itself is read where it lies and never copied. The folder is written under a temporary name and
renamed into place when complete.

`gguf_file(source)` says whether a model choice names a GGUF file (a `.gguf` path, or a folder
holding exactly one `.gguf` and no `config.json`); `prepared_folder(path)` returns the folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

from app.brains.base import BrainError
from app.paths import app_cache_dir

log = logging.getLogger(__name__)

PREPARED_VERSION = 2  # bump when the prepared folder's layout changes
_DONE = "prepared.ok"  # written last: the folder is complete


def gguf_file(source: str) -> Path | None:
    """The GGUF file `source` names, or None when it names something else."""
    path = Path(source).expanduser()
    if path.suffix.lower() == ".gguf":
        if not path.is_file():
            raise BrainError(f"The GGUF file {path} does not exist. Pick an existing .gguf file.")
        return path
    if path.is_dir() and not (path / "config.json").is_file():
        found = sorted(p for p in path.iterdir() if p.suffix.lower() == ".gguf" and p.is_file())
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise BrainError(f"The folder {path} holds several GGUF files "
                             f"({', '.join(p.name for p in found)}); pick one of them.")
    return None


def _key(path: Path) -> str:
    st = path.stat()
    text = f"{PREPARED_VERSION}|{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    return hashlib.sha1(text.encode()).hexdigest()[:12]


@contextlib.contextmanager
def _quiet_transformers():
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()


def _generic_tokenizer_class(config: Path) -> None:
    """Name the generic fast tokenizer class in `config`: tokenizer.json holds the whole
    tokenizer, and a model-specific name (LlamaTokenizerFast...) makes transformers search its
    model modules for it, which fails in a bundle that holds only some of them."""
    data = json.loads(config.read_text(encoding="utf-8"))
    data["tokenizer_class"] = "PreTrainedTokenizerFast"
    config.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")


def default_root() -> Path:
    return app_cache_dir() / "gguf"


def prepared_folder(path: Path, root: Path | None = None) -> Path:
    """A transformers folder (config, tokenizer, float32 safetensors) made from the GGUF `path`,
    made on first use into `root` (default: the user cache)."""
    path = Path(path)
    root = Path(root) if root is not None else default_root()
    target = root / f"{path.stem}-{_key(path)}"
    if (target / _DONE).is_file():
        return target
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log.info("preparing %s for transformers (once; it is kept in %s)", path.name, target)
    root.mkdir(parents=True, exist_ok=True)
    try:
        with _quiet_transformers():  # its notes on tokenizer classes and a progress bar
            tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
            model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name,
                                                         dtype=torch.float32)
    except ImportError as exc:
        raise BrainError(f"Reading GGUF files needs the gguf package ({exc}); install the "
                         "project's dependencies with `uv sync`.") from exc
    except (ValueError, KeyError, OSError, RuntimeError) as exc:
        raise BrainError(f"transformers cannot read the GGUF file {path}: {str(exc)[:300]}. "
                         "Use a GGUF of a model family transformers supports (Llama, Qwen2, "
                         "Mistral, Phi-3, Gemma...) or a transformers model folder.") from exc
    with tempfile.TemporaryDirectory(dir=root, prefix=".prepare-") as tmp:
        build = Path(tmp) / "model"
        # the fast tokenizer alone (tokenizer.json): a slow one would copy the GGUF as its vocab
        tokenizer.save_pretrained(build, legacy_format=False)
        (build / "tokenizer.model").unlink(missing_ok=True)
        _generic_tokenizer_class(build / "tokenizer_config.json")
        model.save_pretrained(build, safe_serialization=True)
        (build / _DONE).write_text(str(path.resolve()) + "\n")
        del model
        if target.exists():  # an incomplete folder from an older run
            shutil.rmtree(target, ignore_errors=True)
        try:
            os.replace(build, target)
        except OSError:
            if not (target / _DONE).is_file():  # not a lost race with another process
                raise
    return target
