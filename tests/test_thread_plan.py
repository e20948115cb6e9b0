"""The CPU thread plan: counts per component for a machine's cores, and the override variable."""

from __future__ import annotations

import threading

import pytest

from app.errors import UserError
from app.threads import ThreadPlan, plan_threads, use_torch_threads


def test_counts_follow_the_cores():
    assert plan_threads(1, override="") == ThreadPlan(dia2=1, reply=1, asr=1, vad=1)
    assert plan_threads(2, override="") == ThreadPlan(dia2=2, reply=1, asr=2, vad=1)
    assert plan_threads(16, override="") == ThreadPlan(dia2=8, reply=2, asr=4, vad=1)


def test_the_override_replaces_named_counts_and_refuses_nonsense():
    assert plan_threads(2, override="dia2=1, asr=1") == ThreadPlan(dia2=1, reply=1, asr=1, vad=1)
    for bad in ("dia2", "dia2=0", "gpu=2", "dia2=two"):
        with pytest.raises(UserError, match="name=count"):
            plan_threads(2, override=bad)


def test_torch_threads_belong_to_the_thread_that_sets_them():
    import torch

    main_before = torch.get_num_threads()
    seen = []

    def work() -> None:
        use_torch_threads(2 if main_before == 1 else 1)
        seen.append(torch.get_num_threads())

    t = threading.Thread(target=work)
    t.start()
    t.join()
    torch.set_num_threads(main_before)  # threads started later inherit the last count set
    assert seen == [2 if main_before == 1 else 1]
    assert torch.get_num_threads() == main_before
