"""The CPU thread plan: counts per component for a machine's cores, and the override variable."""

from __future__ import annotations

import threading

import pytest

from app.errors import UserError
from app.threads import ThreadPlan, dia2_threads, plan_threads, use_torch_threads


def test_counts_follow_the_cores():
    assert plan_threads(1, override="") == ThreadPlan(dia2=1, reply=1, asr=1, vad=1, dia2_alone=1)
    # Dia2 takes the cores the reply model (which runs beside it) leaves, at least one, at most 8
    assert plan_threads(2, override="") == ThreadPlan(dia2=1, reply=1, asr=2, vad=1, dia2_alone=2)
    assert plan_threads(4, override="") == ThreadPlan(dia2=3, reply=1, asr=4, vad=1, dia2_alone=4)
    assert plan_threads(8, override="") == ThreadPlan(dia2=6, reply=2, asr=4, vad=1, dia2_alone=8)
    assert plan_threads(16, override="") == ThreadPlan(dia2=8, reply=2, asr=4, vad=1, dia2_alone=8)


def test_dia2_gives_a_local_reply_model_its_cores():
    from app.brains.local_llm import TransformersBrain
    from app.brains.openai_compat import OpenAICompatibleBrain
    from app.brains.script import ScriptBrain

    plan = plan_threads(2, override="")
    assert TransformersBrain.computes_here and dia2_threads(plan, reply_beside=True) == 1
    for remote in (OpenAICompatibleBrain, ScriptBrain):  # nothing of theirs computes here
        assert not remote.computes_here
    assert dia2_threads(plan, reply_beside=False) == 2


def test_the_override_replaces_named_counts_and_refuses_nonsense():
    assert plan_threads(2, override="dia2=2, asr=1") == ThreadPlan(dia2=2, reply=1, asr=1, vad=1, dia2_alone=2)
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
