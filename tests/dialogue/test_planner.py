"""The chunk planner's invariants over random scripts and contexts (property tests)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from app.conversation.turns import Turn
from app.core import Word
from app.dialogue.planner import (
    PlanLimits,
    choose_history,
    cut_quality,
    item_frames,
    plan_chunks,
)
from app.dialogue.script import DialogueScript, ScriptWord, parse_dialogue, pause_tag
from app.errors import UserError
from app.tts.generator import FLUSH_PADDING
from app.tts.state_machine import MAX_PADDING


def tokens(word: str) -> int:
    """A stand-in tokenizer: 1 to 9 tokens, by the word's length."""
    return 1 + len(word) % 9


def frames_of(item) -> int:
    return item_frames(item, tokens)


WORDS = ["a", "word", "longer", "sentence.", "ends!", "really?", "clause,", "semi;", "x",
         "extraordinarily", "hm…", "done.\"", "and"]


@st.composite
def scripts(draw) -> DialogueScript:
    """Random scripts, written as text and parsed: short and very long turns, pauses anywhere."""
    parts = []
    for _ in range(draw(st.integers(1, 30))):
        parts.append(draw(st.sampled_from(["[S1]", "[S2]"])))
        n = draw(st.integers(1, 120 if draw(st.booleans()) else 12))
        for _ in range(n):
            if draw(st.integers(0, 25)) == 0:
                parts.append(pause_tag(draw(st.integers(1, 375))))
            else:
                parts.append(draw(st.sampled_from(WORDS)))
        parts.append("last.")
    return parse_dialogue(" ".join(parts))


@st.composite
def limits(draw) -> PlanLimits:
    context = draw(st.integers(150, 3000))
    voices = draw(st.integers(0, context // 3))
    try:
        return PlanLimits.for_model(context, draw(st.integers(1, 20)), draw(st.integers(0, 8)),
                                    voices)
    except UserError:
        assume(False)


def _groups(script: DialogueScript) -> list[int]:
    """Worst cases of each word with the pauses after it (the smallest piece there can be)."""
    out = []
    for turn in script.turns:
        for item in turn.items:
            if isinstance(item, ScriptWord) or not out:
                out.append(0)
            out[-1] += frames_of(item)
    return out


def _history_turn(index: int, speaker: int, frames: int, words: int) -> Turn:
    ws = tuple(Word(f"w{index}.{i}", i * 0.08, (i + 1) * 0.08) for i in range(words))
    return Turn(index, speaker, ws, torch.zeros(1, frames, dtype=torch.long), 0.0, frames / 12.5)


@settings(max_examples=150, deadline=None)
@given(scripts(), limits(), st.randoms(use_true_random=False))
def test_plan_invariants(script, lim, rnd):
    if max(_groups(script)) > lim.content_frames:
        with pytest.raises(UserError, match="too long for one generation"):
            plan_chunks(script, frames_of, lim)
        return
    chunks = plan_chunks(script, frames_of, lim)

    # every item exactly once, in order; words never split (items are whole)
    flat = [(p.turn, i) for c in chunks for p in c.pieces for i in range(p.start, p.stop)]
    assert flat == [(t.index, i) for t in script.turns for i in range(len(t.items))]
    assert [w.index for c in chunks for w in c.words(script)] == list(range(len(script.words)))
    assert [c.index for c in chunks] == list(range(len(chunks)))

    pieces = [p for c in chunks for p in c.pieces]
    for c in chunks:
        # every generation's worst case fits what the context leaves it
        assert 0 < c.frames <= lim.content_frames
        assert c.frames == sum(frames_of(i) for p in c.pieces for i in p.items(script))
    for k in range(1, len(chunks)):  # greedy: the next piece did not fit in the generation before
        assert chunks[k - 1].frames + chunks[k].pieces[0].frames > lim.content_frames

    for turn in script.turns:
        own = [p for p in pieces if p.turn == turn.index]
        total = sum(frames_of(i) for i in turn.items)
        if total <= lim.piece_frames:
            assert len(own) == 1  # a turn that fits is never cut (so generations meet at turns)
        for p in own:
            if p.frames > lim.piece_frames:  # only a word with pauses too long for a piece
                assert len(p.words(script)) == 1
            if p.stop == len(turn.items):
                continue
            assert isinstance(turn.items[p.stop], ScriptWord)  # cut before a word: pauses stay
            # the cut is the best place within the limit: the latest sentence end (or pause),
            # else the latest clause end, else the latest word that fits
            first = next(i for i in range(p.start, p.stop) if isinstance(turn.items[i], ScriptWord))
            fits, used = [], sum(frames_of(i) for i in turn.items[p.start : first + 1])
            for c in range(first + 1, len(turn.items)):
                if isinstance(turn.items[c], ScriptWord) and used <= lim.piece_frames:
                    fits.append(c)
                used += frames_of(turn.items[c])
            if not fits:
                continue  # one word with pauses too long for a piece: alone
            best = max(cut_quality(turn.items, c) for c in fits)
            assert cut_quality(turn.items, p.stop) == best
            assert all(cut_quality(turn.items, c) < best for c in fits if c > p.stop)

    # render it in thought: pieces take any length up to their worst case (plus the lead and
    # tail for a generation's first and last), and each prefix follows the budget rules
    history: list[Turn] = []
    oversized = False
    for c in chunks:
        choice = choose_history(history, c, lim)
        chosen = list(choice.turns)
        assert choice.frames + lim.voice_frames + c.frames + lim.safety_frames <= lim.context_frames
        if history and not oversized:
            assert chosen and chosen[-1] is history[-1]  # the newest piece is always heard
        if chosen:
            assert chosen == history[len(history) - len(chosen):]  # newest whole pieces, unbroken
        for i, p in enumerate(c.pieces):
            assert p.words(script)  # every piece has a word: its audio starts with it
            worst = p.frames + (lim.lead_frames if i == 0 else 0)
            worst += lim.tail_frames if i == len(c.pieces) - 1 else 0
            frames = rnd.randint(1, worst) if rnd.random() < 0.7 else worst
            history.append(_history_turn(len(history), p.speaker, frames, len(p.words(script))))
        oversized = c.pieces[-1].frames > lim.piece_frames  # a word with very long pauses


def test_long_turn_is_cut_at_sentence_ends():
    sentence = "This is one sentence of a long speech, with a clause in it."
    script = parse_dialogue("[S1] Hi. [S2] " + " ".join([sentence] * 30) + " [S1] Wow.")
    lim = PlanLimits.for_model(1500, 18, 2, 0)
    chunks = plan_chunks(script, frames_of, lim)
    pieces = [p for c in chunks for p in c.pieces]
    cut = [p for p in pieces if p.turn == 1]
    assert len(cut) > 1
    for p in cut[:-1]:
        assert p.items(script)[-1].text == "it."  # ends a sentence
    assert pieces[0].turn == 0 and pieces[-1].turn == 2  # short turns stay whole


def test_a_sentence_longer_than_a_piece_is_cut_between_words():
    script = parse_dialogue("[S1] " + " ".join(["on"] * 400) + ".")
    lim = PlanLimits.for_model(1500, 18, 2, 0)
    pieces = [p for c in plan_chunks(script, frames_of, lim) for p in c.pieces]
    assert len(pieces) > 1 and all(p.frames <= lim.piece_frames for p in pieces)


def test_limits_leave_room_for_the_longest_delay():
    lim = PlanLimits.for_model(1500, 18, 2, 500)
    assert lim.tail_frames >= 18 + FLUSH_PADDING
    assert lim.lead_frames >= MAX_PADDING + 2
    assert lim.voice_frames + lim.history_frames + lim.content_frames + lim.safety_frames == 1500
    assert lim.piece_frames + lim.safety_frames == lim.history_frames


def test_voices_too_long_for_the_context_are_refused():
    with pytest.raises(UserError, match="shorter voice samples"):
        PlanLimits.for_model(300, 3, 2, 290)


def test_a_word_too_long_for_any_generation_is_refused():
    script = parse_dialogue("[S1] " + "a" * 40)
    lim = PlanLimits.for_model(150, 3, 2, 0)
    with pytest.raises(UserError, match="too long for one generation"):
        plan_chunks(script, lambda i: item_frames(i, lambda w: 200), lim)
