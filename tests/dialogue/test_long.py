"""A script of more than ten minutes' worth of frames renders on the demo models (context 1500):
every word once, in order, at increasing times, and no generation past its worst case.

The cost is the frames themselves (about 8,200: the random model speaks about 3.5 frames a
word), so this is the one test that renders that much; the joins, the voices and the resume
are tested on shorter scripts elsewhere.
"""

from __future__ import annotations

import pytest

from app.bench.dialogue import bench_script
from app.dialogue.episode import EpisodeRequest, prepare, render_episode
from app.dialogue.script import parse_dialogue
from app.dialogue.store import RenderStore
from app.tts.options import GenerationOptions


@pytest.mark.slow
def test_a_script_longer_than_ten_minutes_renders(demo_models, tmp_path):
    engine = demo_models[0]
    assert engine.config.max_context_steps == 1500  # the demo keeps the published context
    text = bench_script(2300)  # the benchmark's script, 2,311 words
    script = parse_dialogue(text)
    out = tmp_path / "long.wav"
    result = render_episode(prepare(EpisodeRequest(text, "long.txt", out,
                                                    options=GenerationOptions(seed=11))),
                            engine, keep_work=True)
    data = result.transcript
    frames = round(data["duration"] * 12.5)
    assert frames > 7500, (  # the random demo model's pace depends on the runtime's numbers
        f"the demo model spoke {len(script.words)} words in only {frames} frames "
        f"({frames / len(script.words):.2f} a word); lengthen the script to keep the claim")
    said = [w for t in data["turns"] for w in t["words"]]
    assert [w["word"] for w in said] == [w.text for w in script.words]  # each once, in order
    starts = [w["start"] for w in said]
    assert all(a < b for a, b in zip(starts, starts[1:], strict=False))
    assert said[-1]["end"] <= data["duration"]
    store = RenderStore(result.paths.work)
    records = [store.load_generation(g)[1] for g in range(result.generations)]
    assert len(records) >= 6 and all(0 < r["frames"] <= r["bound"] for r in records)
    assert out.stat().st_size == 44 + 2 * round(data["duration"] * 24000)  # 16-bit mono WAV
