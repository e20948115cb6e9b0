"""Replies from a local instruction-tuned language model run with transformers.

The model and tokenizer load from a local folder, a single GGUF file (`app.brains.gguf`), or a
hub repo id already in the Hugging Face cache (downloading only when the config allows it). The prompt is built with the
tokenizer's own chat template; `generate` runs in a helper thread and feeds a
`TextIteratorStreamer`, whose text pieces `reply` yields as they come. A stopping criterion
checks the cancel event (and the brain's own closing flag) between tokens, so a cancelled reply
stops after at most one more token. The brain owns that thread: the reply joins it when it ends,
and `close()` stops and joins any still running, within `JOIN_TIMEOUT_S`. (A generation thread
left running when the interpreter exits aborts the process: "terminate called without an active
exception".)

Default model: Qwen/Qwen2.5-1.5B-Instruct. It is the smallest model that still follows a
persona and a "be brief" instruction reliably; in bfloat16 its 1.5 B parameters take about
3.1 GB, so it fits on one consumer GPU beside Dia2-2B (about 5 GB) and Whisper; it is
Apache-2.0 licensed and ships a chat template.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from app.brains.base import Brain, BrainError, Message, is_cancelled, trim_history
from app.brains.gguf import gguf_file, prepared_folder
from app.brains.persona import MAX_SENTENCES, with_system_prompt
from app.brains.sentences import SentenceLimit
from app.errors import UserError, first_line

log = logging.getLogger(__name__)

_DTYPES = ("auto", "float32", "bfloat16", "float16")
JOIN_TIMEOUT_S = 10.0  # longest wait for a generation thread to stop (one token, or a prefill)


@dataclass(frozen=True)
class TransformersConfig:
    """Which local model to run and how."""

    kind: ClassVar[str] = "transformers"

    model: str = "Qwen/Qwen2.5-1.5B-Instruct"  # hub repo id (from the HF cache), folder or .gguf file
    device: str = "auto"  # "auto" (cuda if present, else cpu), "cpu", "cuda", "cuda:1", ...
    dtype: str = "auto"  # "auto" (bfloat16 on cuda, float32 on cpu) or one of _DTYPES
    max_new_tokens: int = 120  # reply length limit in tokens (about three spoken sentences)
    max_sentences: int | None = MAX_SENTENCES  # the reply stops after this many; None: no cap
    repetition_penalty: float = 1.0  # > 1 discourages repeating tokens (small models loop); 1: off
    temperature: float = 0.7  # sampling temperature; 0 = greedy, always the likeliest token
    top_p: float = 0.9  # nucleus sampling: keep the likeliest tokens up to this probability
    allow_download: bool = False  # fetch a repo id missing from the cache from the hub
    max_history_messages: int = 20  # newest non-system messages put in the prompt
    system_prompt: str | None = None  # used when the history has none; None = persona_prompt()

    def __post_init__(self) -> None:
        if self.dtype not in _DTYPES:
            raise UserError(f"dtype must be one of {', '.join(_DTYPES)}, not {self.dtype!r}.")
        if self.max_new_tokens < 1:
            raise UserError("max_new_tokens must be at least 1.")
        if self.max_sentences is not None and self.max_sentences < 1:
            raise UserError("max_sentences must be at least 1 (or left out for no cap).")
        if self.repetition_penalty <= 0:
            raise UserError("repetition_penalty must be above 0 (1 turns it off).")


def pick_device_and_dtype(device: str = "auto", dtype: str = "auto") -> tuple[str, Any]:
    """Resolve "auto": cuda + bfloat16 when a GPU is there, else cpu + float32."""
    import torch

    from app.torch_device import resolve_torch_device

    device = str(resolve_torch_device(device))
    if dtype == "auto":
        if device.startswith("cuda"):
            dtype = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
        else:
            dtype = "float32"
    return device, getattr(torch, dtype)


def _looks_like_path(source: str) -> bool:
    return source.startswith((".", "/", "~", "\\")) or source.count("/") > 1 or ":" in source[:3]


def check_model_folder(folder: Path) -> None:
    """Raise BrainError unless `folder` looks like a causal language model transformers can
    load: a config.json naming a causal-LM model type, and tokenizer files."""
    import json

    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    what = ("Choose the folder of an instruction-tuned causal language model (config.json, the "
            "tokenizer and the weights), or a model name from the hub.")
    config = folder / "config.json"
    try:
        model_type = json.loads(config.read_text(encoding="utf-8")).get("model_type")
    except FileNotFoundError:
        raise BrainError(f"{folder} holds no config.json, so it is not a language model. {what}") from None
    except (OSError, ValueError, AttributeError) as exc:
        raise BrainError(f"{config} cannot be read ({exc}). {what}") from None
    if model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        raise BrainError(f"{folder} holds a {model_type or 'unnamed'!s} model, not a language "
                         f"model that writes text. {what}")
    if not any((folder / n).is_file() for n in ("tokenizer.json", "tokenizer_config.json",
                                                 "tokenizer.model", "vocab.json")):
        raise BrainError(f"{folder} holds no tokenizer (tokenizer.json). {what}")


class _StopOnEvent:
    """A transformers stopping criterion: stop when the reply is cancelled or abandoned.

    It also counts the tokens generated so far (`generated`)."""

    def __init__(self, stop: threading.Event, cancel: threading.Event | None, prompt_len: int,
                 closing: threading.Event | None = None):
        self.stop, self.cancel, self.prompt_len = stop, cancel, prompt_len
        self.closing = closing
        self.generated = 0

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        self.generated = int(input_ids.shape[-1]) - self.prompt_len
        flag = self.stop.is_set() or is_cancelled(self.cancel) or is_cancelled(self.closing)
        return torch.full((input_ids.shape[0],), flag, dtype=torch.bool, device=input_ids.device)


class TransformersBrain(Brain):
    """Streams replies from a causal LM loaded with `AutoModelForCausalLM`.

    `model` and `tokenizer` may be handed in ready-made (then `config.model` is not loaded).
    After each reply, `last_token_count` holds how many tokens it generated.
    """

    computes_here = True

    def __init__(
        self, config: TransformersConfig | None = None, *, model: Any = None, tokenizer: Any = None
    ) -> None:
        self.config = config or TransformersConfig()
        self._model = model
        self._tokenizer = tokenizer
        self.last_token_count = 0
        self._closing = threading.Event()  # set by close(): every generation stops
        self._threads: set[threading.Thread] = set()  # generation threads not yet joined
        self._threads_lock = threading.Lock()

    @property
    def device(self) -> Any:
        self.load()
        return self._model.device

    def load(self) -> None:
        """Load tokenizer and model (once). Raises BrainError if they cannot be found."""
        if self._model is not None and self._tokenizer is not None:
            return
        import transformers
        from transformers import AutoModelForCausalLM, AutoTokenizer

        cfg = self.config
        device, dtype = pick_device_and_dtype(cfg.device, cfg.dtype)
        source = cfg.model
        gguf = gguf_file(source)
        folder = prepared_folder(gguf) if gguf is not None else Path(source).expanduser()
        if folder.is_dir():
            check_model_folder(folder)
            source, local_only = str(folder), True
        elif _looks_like_path(source):
            raise BrainError(
                f"The language model folder {source} does not exist. Pick a folder that holds "
                "config.json, or a .gguf file."
            )
        else:
            local_only = not cfg.allow_download
        major, minor = (int(p) for p in transformers.__version__.split(".")[:2])
        dtype_key = "dtype" if (major, minor) >= (4, 56) else "torch_dtype"
        log.info("loading language model %s on %s (%s)", source, device, dtype)
        try:
            tokenizer = self._tokenizer or AutoTokenizer.from_pretrained(
                source, local_files_only=local_only
            )
            model = self._model
            if model is None:
                model = AutoModelForCausalLM.from_pretrained(
                    source, local_files_only=local_only, **{dtype_key: dtype}
                ).to(device)  # type: ignore[arg-type]  # transformers: @wraps on `to` hides the bound self
        except (ValueError, TypeError, AttributeError, KeyError) as exc:  # files of another kind
            first = first_line(exc)[:200]
            raise BrainError(
                f"Cannot load the language model {source!r}: it is not a chat model that "
                f"transformers can run ({first}). Choose an instruction-tuned causal language "
                "model (its folder holds config.json, the tokenizer and the weights)."
            ) from exc
        except OSError as exc:
            where = "in the local Hugging Face cache" if local_only else "on the hub"
            raise BrainError(
                f"Cannot load the language model {source!r}: it is not {where} or is incomplete. "
                f"Download it once (e.g. `huggingface-cli download {source}`), allow downloads, or choose a "
                f"local model folder. ({exc.__class__.__name__}: {str(exc)[:200]})"
            ) from exc
        self._tokenizer = tokenizer
        self._model = model.eval()

    def _chat(self, history: Sequence[Message]) -> list[dict[str, str]]:
        msgs = with_system_prompt(history, self.config.system_prompt)
        msgs = trim_history(msgs, self.config.max_history_messages)
        return [{"role": m.role, "content": m.text} for m in msgs]

    def prompt_text(self, history: Sequence[Message]) -> str:
        """The prompt exactly as the model sees it for `history`, as text."""
        self.load()
        return self._tokenizer.apply_chat_template(
            self._chat(history), tokenize=False, add_generation_prompt=True
        )

    def _encode(self, history: Sequence[Message]) -> dict[str, Any]:
        if not getattr(self._tokenizer, "chat_template", None):
            raise BrainError(
                f"The model {self.config.model!r} has no chat template, so it is not a chat "
                "(instruct) model. Choose an instruction-tuned model."
            )
        enc = self._tokenizer.apply_chat_template(
            self._chat(history), add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        device = self._model.device
        return {k: enc[k].to(device) for k in ("input_ids", "attention_mask") if k in enc}

    def reply(
        self, history: Sequence[Message], *, cancel: threading.Event | None = None
    ) -> Iterator[str]:
        """Stream the reply, word by word as the streamer decodes it."""
        from transformers import StoppingCriteriaList, TextIteratorStreamer

        self.last_token_count = 0
        if is_cancelled(cancel):
            return
        self.load()
        cfg = self.config
        inputs = self._encode(history)
        stop = threading.Event()
        criterion = _StopOnEvent(stop, cancel, int(inputs["input_ids"].shape[-1]), self._closing)
        streamer = TextIteratorStreamer(self._tokenizer, skip_prompt=True, skip_special_tokens=True)
        kwargs: dict[str, Any] = dict(
            inputs,
            streamer=streamer,
            max_new_tokens=cfg.max_new_tokens,
            stopping_criteria=StoppingCriteriaList([criterion]),
            do_sample=cfg.temperature > 0,
        )
        if cfg.temperature > 0:
            kwargs.update(temperature=cfg.temperature, top_p=cfg.top_p)
        else:
            kwargs.update(temperature=None, top_p=None, top_k=None)
        if cfg.repetition_penalty != 1.0:
            kwargs["repetition_penalty"] = cfg.repetition_penalty
        limit = SentenceLimit(cfg.max_sentences)
        if self._model.generation_config.pad_token_id is None:
            kwargs["pad_token_id"] = self._tokenizer.eos_token_id
        errors: list[BaseException] = []
        thread = threading.Thread(
            target=self._generate, args=(kwargs, streamer, errors), name="llm-generate", daemon=True
        )
        with self._threads_lock:
            if self._closing.is_set():
                return
            self._threads.add(thread)
            thread.start()
        try:
            for text in streamer:
                if is_cancelled(cancel) or self._closing.is_set():
                    break
                text, complete = limit.take(text)
                if text:
                    yield text
                if complete:
                    break
        finally:
            stop.set()
            self._join(thread)
            self.last_token_count = max(criterion.generated, 0)
        if errors:
            raise BrainError(f"The language model failed while replying: {errors[0]}") from errors[
                0
            ]

    def _generate(self, kwargs: dict[str, Any], streamer: Any, errors: list[BaseException]) -> None:
        import torch

        from app.threads import plan_threads, use_torch_threads

        use_torch_threads(plan_threads().reply)  # beside Dia2, which must keep real time
        try:
            with torch.inference_mode():
                self._model.generate(**kwargs)
        except BaseException as exc:  # reported by reply() on the caller's thread
            log.exception("generation failed")
            errors.append(exc)
            streamer.end()

    def _join(self, thread: threading.Thread) -> bool:
        """Wait (bounded) for a generation thread to end; True if it did."""
        thread.join(JOIN_TIMEOUT_S)
        if thread.is_alive():
            log.warning("the language model's generation did not stop within %.0f s", JOIN_TIMEOUT_S)
            return False
        with self._threads_lock:
            self._threads.discard(thread)
        return True

    def abort(self) -> None:
        """Nothing to unblock: the stopping criterion sees the reply's cancel event."""

    def close(self) -> None:
        """Stop any generation, join its thread (bounded), drop the model (and free GPU memory)."""
        with self._threads_lock:
            self._closing.set()
            threads = list(self._threads)
        for thread in threads:
            self._join(thread)
        on_cuda = self._model is not None and self._model.device.type == "cuda"
        self._model = None
        if on_cuda:
            import torch

            torch.cuda.empty_cache()
