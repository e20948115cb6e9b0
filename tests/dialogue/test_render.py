"""A dialogue rendered in several generations on the demo models: every word once, in order; the
voices in every prefix; seamless joins (one streaming decode of all the codes); the files."""

from __future__ import annotations

import json

import numpy as np
import soundfile as sf
import torch

from app.dialogue.episode import EpisodeRequest, make_transcriber, prepare, render_episode
from app.dialogue.script import parse_dialogue
from app.dialogue.store import RenderStore
from app.dialogue.voices import VoiceSource
from app.tts.options import GenerationOptions
from tests.dialogue.conftest import DIALOGUE

LSB = 1 / 32767


def test_dialogue_with_both_voices_renders_seamlessly(short_engine, speech_files, tmp_path):
    words = tmp_path / "s1.json"  # S1's word times from a file (the words need not be right for
    words.write_text(json.dumps([  # the random demo model); S2's come from the recogniser
        {"word": "Hello", "start": 0.3, "end": 0.7}, {"word": "there", "start": 0.8, "end": 1.2},
        {"word": "friend.", "start": 1.3, "end": 1.9}]))
    voices = {1: VoiceSource(speech_files[1], words), 2: VoiceSource(speech_files[0])}
    out = tmp_path / "out" / "ep.wav"
    request = EpisodeRequest(DIALOGUE, "ep.txt", out, voices, GenerationOptions(seed=5))
    result = render_episode(prepare(request), short_engine, transcribe=make_transcriber(True),
                            keep_work=True)
    data = result.transcript
    script = parse_dialogue(DIALOGUE)

    # every word of the script exactly once, in order, at increasing times
    said = [w for t in data["turns"] for w in t["words"]]
    assert [w["word"] for w in said] == [w.text for w in script.words]
    starts = [w["start"] for w in said]
    assert all(a < b for a, b in zip(starts, starts[1:], strict=False))
    assert all(w["start"] <= w["end"] <= data["duration"] for w in said)
    assert [t["speaker"] for t in data["turns"]] == [f"S{t.speaker}" for t in script.turns]

    # several generations, each conditioned on both voices and, after the first, on what was
    # just said; none used more than its planned worst case
    gens = data["generations"]
    assert len(gens) >= 3 and result.generations == len(gens)
    assert all(g["conditioned_on"][:2] == ["voice S1", "voice S2"] for g in gens)
    assert all(len(g["conditioned_on"]) > 2 for g in gens[1:])
    assert [g["start"] for g in gens[1:]] == [g["end"] for g in gens[:-1]]
    store = RenderStore(result.paths.work)
    records = [store.load_generation(g)[1] for g in range(len(gens))]
    assert all(0 < r["frames"] <= r["bound"] for r in records)
    assert all(r["prefix_frames"] + r["bound"] <= short_engine.config.max_context_steps
               for r in records)

    # seamless: the episode is exactly one streaming decode of all its codes ...
    parts = [torch.from_numpy(store.load_generation(g)[0]) for g in range(len(gens))]
    codes = torch.cat(parts, dim=1)
    decoder = short_engine.codec.stream_decoder()
    whole = np.concatenate([decoder.decode_frame(codes[:, f]) for f in range(codes.shape[1])])
    episode = np.fromfile(store.audio_path, dtype=np.float32)
    np.testing.assert_array_equal(episode, whole)
    mix, rate = sf.read(str(out), dtype="float32")
    assert rate == 24000 and len(mix) == len(whole) == round(data["duration"] * 24000)
    np.testing.assert_allclose(mix, np.clip(whole, -1, 1), atol=1.01 * LSB)
    # ... which a decoder started afresh at each join is not
    fresh = []
    for part in parts:
        d = short_engine.codec.stream_decoder()
        fresh += [d.decode_frame(part[:, f]) for f in range(part.shape[1])]
    assert not np.allclose(np.concatenate(fresh), whole, atol=1e-3)

    # one track per speaker; together they are the mix
    s1, _ = sf.read(str(result.paths.tracks[1]), dtype="float32")
    s2, _ = sf.read(str(result.paths.tracks[2]), dtype="float32")
    assert len(s1) == len(s2) == len(mix)
    np.testing.assert_allclose(s1 + s2, mix, atol=2.01 * LSB)
    for turn in data["turns"]:  # inside a turn (away from its edges) only its speaker sounds
        a, b = round((turn["start"] + 0.05) * 24000), round((turn["end"] - 0.05) * 24000)
        other = s2 if turn["speaker"] == "S1" else s1
        assert np.abs(other[a:b]).max(initial=0) == 0
    assert np.abs(s1).max() > 0.01 and np.abs(s2).max() > 0.01

    srt = result.paths.srt.read_text()
    assert "S1: Hello there, how are you doing today?" in srt and "S2: I am fine" in srt
    assert result.paths.vtt.read_text().startswith("WEBVTT")
    assert json.loads(result.paths.transcript.read_text()) == data


def test_prefix_words_never_collide_at_the_first_turns_end(short_engine):
    """The reference's 3-frame offset of the first prefix turn would put a last word starting 2
    frames before that turn's end on the next turn's first word (one word would then be said
    again); the prefix leaves out the oldest piece, or a voice sample's last word, instead."""
    from app.conversation.turns import Turn
    from app.core import Word
    from app.dialogue.render import fit_prefix, plan_ok

    def turn(index, speaker, frames, starts):
        words = tuple(Word(f"w{i}", s / 12.5, (s + 1) / 12.5) for i, s in enumerate(starts))
        return Turn(index, speaker, words, torch.zeros(32, frames, dtype=torch.long))

    after = turn(1, 2, 30, [0, 8])
    for first in (turn(0, 1, 20, [2, 10, 18]), turn(-1, 1, 20, [2, 10, 18])):
        naive = short_engine.plan_prefix([first.to_prefix(), after.to_prefix()])
        assert not plan_ok(naive)  # two words forced at one step: one would be left over
        plan, used = fit_prefix(short_engine, [first, after])
        assert plan_ok(plan)
        if first.index >= 0:  # a rendered piece: left out, the newer one kept whole
            assert used == [after]
        else:  # a voice sample: kept, without its last word
            assert [w.text for w in used[0].words] == ["w0", "w1"] and used[1] is after
    fine = turn(0, 1, 20, [2, 10, 15])
    assert fit_prefix(short_engine, [fine, after])[1] == [fine, after]
