"""The prefix budget policy on long conversations."""

from __future__ import annotations

import random

import pytest
import torch

from app.conversation.budget import PrefixBudget, choose_prefix, words_that_fit
from app.conversation.turns import CHARACTER, PERSON, Conversation, Turn
from app.core import Word
from app.errors import UserError

K = 32


def make_turn(index: int, speaker: int, frames: int, words: int = 3) -> Turn:
    step = frames / 12.5 / max(words, 1)
    ws = tuple(Word(f"w{index}_{i}", i * step, (i + 0.9) * step) for i in range(words))
    return Turn(index, speaker, ws, torch.zeros(K, frames, dtype=torch.long), 0.0, frames / 12.5)


def test_long_conversation_keeps_voice_and_newest_whole_turns():
    rng = random.Random(0)
    budget = PrefixBudget()
    voice = make_turn(-1, CHARACTER, 200)
    turns = [make_turn(i, PERSON if i % 2 else CHARACTER, rng.randint(10, 160)) for i in range(300)]
    choice = choose_prefix(voice, turns, budget)
    assert choice.voice is voice
    chosen = list(choice.turns)
    assert chosen and chosen[-1] is turns[-1]  # the newest turn is in
    # one unbroken stretch of the newest turns, in order, whole
    first = turns.index(chosen[0])
    assert chosen == turns[first:]
    assert all(t.frames == turns[t.index].frames for t in chosen)
    assert choice.frames == voice.frames + sum(t.frames for t in chosen)
    limit = budget.context_frames - budget.reply_reserve_frames - budget.safety_frames
    assert choice.frames <= limit
    assert choice.room >= budget.reply_reserve_frames
    # the next older turn would not have fitted
    assert choice.frames + turns[first - 1].frames > limit
    prefix = choice.prefix()
    assert prefix[0].speaker == CHARACTER and len(prefix) == len(chosen) + 1


def test_turns_without_words_or_codes_are_passed_over():
    budget = PrefixBudget()
    a = make_turn(0, PERSON, 50)
    silent = Turn(1, PERSON, (), torch.zeros(K, 80, dtype=torch.long))
    b = make_turn(2, CHARACTER, 40)
    choice = choose_prefix(None, [a, silent, b], budget)
    assert choice.turns == (a, b)
    assert choice.frames == 90


def test_a_turn_too_long_stops_the_history_but_the_voice_stays():
    budget = PrefixBudget()
    voice = make_turn(-1, CHARACTER, 100)
    huge = make_turn(0, PERSON, 1400)
    choice = choose_prefix(voice, [make_turn(1, CHARACTER, 20), huge], budget)
    assert choice.turns == () and choice.voice is voice
    assert choice.room == budget.context_frames - 100 - budget.safety_frames


def test_max_turns_and_budget_checks():
    turns = [make_turn(i, PERSON, 10) for i in range(20)]
    assert len(choose_prefix(None, turns, PrefixBudget(max_turns=4)).turns) == 4
    with pytest.raises(UserError):
        PrefixBudget(voice_max_frames=1000, reply_reserve_frames=600)
    assert words_that_fit(450, PrefixBudget()) == 75


def test_budget_for_engine_uses_its_context(demo_models):
    engine, _ = demo_models
    b = PrefixBudget.for_engine(engine)
    assert b.context_frames == engine.config.max_context_steps
    assert b.safety_frames > engine.config.data.max_delay


def test_cropped_voice_keeps_whole_words_and_voice_lock():
    long = make_turn(0, CHARACTER, 400, words=20)
    cropped = long.cropped(100)
    assert cropped.frames == 100
    assert cropped.words and all(w.end <= 100 / 12.5 for w in cropped.words)
    assert cropped.words == long.words[: len(cropped.words)]
    conv = Conversation()
    assert not conv.lock_voice(make_turn(1, PERSON, 50), 100)
    assert conv.lock_voice(long, 100) and conv.voice.frames == 100 and conv.voice_locked
    assert not conv.lock_voice(make_turn(2, CHARACTER, 50), 100)  # locked once


def test_messages_for_the_brain():
    conv = Conversation()
    conv.add(make_turn(0, CHARACTER, 10, 2))
    conv.add(make_turn(0, PERSON, 10, 1))
    conv.add(Turn(0, PERSON, (), None))
    conv.add(make_turn(0, PERSON, 10, 1))
    msgs = conv.messages("be brief")
    assert [m.role for m in msgs] == ["system", "assistant", "user"]
    assert msgs[2].text.count("w") == 2  # the two person turns joined
