"""CPU thread counts per component, chosen so speech keeps real time on a busy desktop.

Four parts of the app compute on the CPU in one process: Dia2 (and the Mimi codec) in torch on
the conversation's worker thread, the local reply model in torch on its generation thread,
Whisper in CTranslate2's own pool, and the Silero voice-activity model in onnxruntime on the
capture thread. Left alone, torch gives every thread that computes one thread per core and
CTranslate2 takes four, so together they ask for more cores than there are (next to another busy
process a demo frame was once measured at 3.3 s instead of 20 ms). `ThreadPlan` gives each part
its own count, measured on the demo conversation (docs/benchmarks.md, `bench --conversation`):

- Dia2 gets the cores the reply model leaves it (at least one, at most 8): the reply model runs
  at the same time as Dia2 (it writes the words Dia2 is speaking), and on the quiet 2-core
  development machine one Dia2 thread beside the reply model's one was faster than two in every
  pair measured (50-63 against 57-71 ms a frame) and reached the first frame sooner, as two
  threads for Dia2 plus one for the reply model ask for more cores than there are. (On the same
  machine crowded by other work, load 9-14, two Dia2 threads were faster: a process's share of a
  contended CPU grows with its runnable threads. A desktop is nearer the quiet case.)
  With no reply model computing beside it (`say`, replies from a server), Dia2 takes every core
  (at most 8);
- the reply model only has to stay ahead of speech: one thread (two from eight cores); two
  threads for it measured no better for Dia2;
- Whisper runs while Dia2 is idle (the person's turn has ended, no reply yet): every core, at
  most four (CTranslate2's own default is four, more than this machine has);
- voice activity runs for every 32 ms of microphone audio: one thread (app.asr.vad).

torch's thread count belongs to the thread that sets it (and threads started later inherit the
last value set), so each component's thread calls `use_torch_threads` when it starts.
`DIA2CHAT_THREADS` overrides the plan: "dia2=1,reply=1,asr=2" (any subset), for measuring.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, fields, replace

from app.errors import UserError

log = logging.getLogger(__name__)

ENV = "DIA2CHAT_THREADS"


@dataclass(frozen=True)
class ThreadPlan:
    """Threads each component computes with on the CPU."""

    dia2: int  # torch intra-op threads of Dia2 + Mimi beside a local reply model (the conversation's worker)
    reply: int  # torch intra-op threads of the local reply model's generation
    asr: int  # CTranslate2 threads of Whisper
    vad: int = 1  # onnxruntime intra-op threads of the voice-activity model
    dia2_alone: int = 1  # Dia2 + Mimi with no reply model computing beside them (`say`, a server's replies)

    def describe(self) -> str:
        return ",".join(f"{f.name}={getattr(self, f.name)}" for f in fields(self))


def cpu_count() -> int:
    """Cores this process may run on (its affinity mask, not the whole machine)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def plan_threads(cores: int | None = None, override: str | None = None) -> ThreadPlan:
    """The plan for a machine with `cores` cores (default: this process's), then `override`
    (default: the DIA2CHAT_THREADS variable) applied."""
    n = cpu_count() if cores is None else max(1, cores)
    reply = 2 if n >= 8 else 1
    plan = ThreadPlan(dia2=min(max(1, n - reply), 8), reply=reply, asr=min(n, 4),
                      dia2_alone=min(n, 8))
    text = os.environ.get(ENV, "") if override is None else override
    return apply_override(plan, text) if text.strip() else plan


def dia2_threads(plan: ThreadPlan, reply_beside: bool) -> int:
    """Dia2's threads under `plan`: fewer when a local reply model computes beside it."""
    return plan.dia2 if reply_beside else plan.dia2_alone


def apply_override(plan: ThreadPlan, text: str) -> ThreadPlan:
    """`plan` with "name=count,..." applied (UserError for a malformed one)."""
    names = {f.name for f in fields(ThreadPlan)}
    values: dict[str, int] = {}
    for part in text.split(","):
        name, _, count = part.strip().partition("=")
        if name not in names or not count.strip().isdigit() or int(count) < 1:
            raise UserError(f"{ENV}={text!r}: expected name=count pairs such as "
                            f"'dia2=2,reply=1,asr=2' (names: {', '.join(sorted(names))}; counts 1 or more)")
        values[name] = int(count)
    return replace(plan, **values)


def use_torch_threads(count: int) -> None:
    """Compute with `count` torch threads on the calling thread (call it first thing there)."""
    import torch

    if torch.get_num_threads() != count:
        torch.set_num_threads(count)
