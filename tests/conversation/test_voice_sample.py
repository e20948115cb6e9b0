"""Saving a character's voice sample: the WAV lands in the user's folder, the character file
(copied from the shipped one when needed) gets exactly one [voice] table naming it, and bad
samples or broken files leave everything as it was."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest

from app.audio.files import read_audio
from app.conversation.character import BUILTIN_DIR, find_character, load_character
from app.conversation.voice_sample import (
    replace_voice_table,
    save_voice_sample,
    trim_silence,
)
from app.core import SAMPLE_RATE
from app.errors import UserError


@pytest.fixture
def user_dir(tmp_path, monkeypatch):
    folder = tmp_path / "chars"
    monkeypatch.setenv("DIA2CHAT_CHARACTERS_DIR", str(folder))
    return folder


@pytest.fixture(scope="module")
def voice24k(speech_files) -> np.ndarray:
    """A few seconds of speech: both speech files back to back (each alone may be only ~2 s
    when synthesised by espeak-ng)."""
    parts = [read_audio(f, SAMPLE_RATE)[0] for f in speech_files]
    return np.concatenate([parts[0], np.zeros(SAMPLE_RATE // 5, np.float32), parts[1]])


def _snapshot(folder):
    if not folder.exists():
        return {}
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_saving_for_a_shipped_character_copies_it_and_points_at_the_wav(user_dir, voice24k):
    builtin_text = (BUILTIN_DIR / "ava.toml").read_text(encoding="utf-8")
    path = save_voice_sample("ava", voice24k, transcript='She said "hi"\nthen left.')
    assert path == user_dir / "ava.toml"
    wav = user_dir / "voices" / "ava.wav"
    assert wav.is_file()
    # the shipped file is untouched, the copy keeps all its lines and adds the table at the end
    assert (BUILTIN_DIR / "ava.toml").read_text(encoding="utf-8") == builtin_text
    text = path.read_text(encoding="utf-8")
    assert text.startswith(builtin_text)
    data = tomllib.loads(text)
    assert data["voice"] == {"sample": "voices/ava.wav", "transcript": 'She said "hi"\nthen left.'}
    ch = find_character("ava")  # the user's copy now wins over the shipped one
    assert ch.source == path
    assert ch.voice == wav.resolve()
    assert ch.name == "Ava" and ch.dia2 == load_character(BUILTIN_DIR / "ava.toml").dia2
    samples, rate = read_audio(ch.voice)
    assert rate == SAMPLE_RATE and len(samples) == len(voice24k)
    np.testing.assert_allclose(samples, voice24k, atol=1.5 / 32768)


def test_a_second_save_replaces_the_table_and_the_audio(user_dir, voice24k):
    save_voice_sample("milo", voice24k, transcript="first")
    other = (0.5 * voice24k[: 3 * SAMPLE_RATE]).astype(np.float32)
    path = save_voice_sample("milo", other)
    text = path.read_text(encoding="utf-8")
    assert text.count("[voice]") == 1
    assert tomllib.loads(text)["voice"] == {"sample": "voices/milo.wav"}  # old transcript gone
    assert tomllib.loads(text)["brain"]["model"] == "llama3.2"
    samples, _ = read_audio(load_character(path).voice)
    np.testing.assert_allclose(samples, other, atol=1.5 / 32768)


def test_an_existing_voice_table_in_the_middle_is_replaced_in_place(user_dir, voice24k):
    user_dir.mkdir(parents=True)
    (user_dir / "voices").mkdir()
    (user_dir / "voices" / "old.wav").write_bytes(b"")
    original = (
        'name = "Zed"\n\n[voice]  # mine\nsample = "voices/old.wav"\n'
        'words = [\n  ["Hi", 0.1, 0.3],\n  ["you", 0.4, 0.6],\n]\n\n'
        '# generation settings\n[dia2]\nseed = 4\n'
    )
    (user_dir / "zed.toml").write_text(original, encoding="utf-8")
    path = save_voice_sample("zed", voice24k)
    text = path.read_text(encoding="utf-8")
    assert text == ('name = "Zed"\n\n[voice]\nsample = "voices/zed.wav"\n\n'
                    '# generation settings\n[dia2]\nseed = 4\n')
    ch = load_character(path)
    assert ch.voice_words is None and ch.dia2.seed == 4


@pytest.mark.parametrize(
    "audio, words",
    [
        (np.zeros(SAMPLE_RATE, np.float32), "at least 2 s"),  # too short
        (np.zeros(5 * SAMPLE_RATE, np.float32), "silent"),
        (np.full(5 * SAMPLE_RATE, 1e-3, np.float32), "silent"),  # room hum, no speech
        (np.random.default_rng(1).uniform(-0.5, 0.5, 31 * SAMPLE_RATE).astype(np.float32), "under 30 s"),
    ],
)
def test_unusable_samples_are_refused_and_nothing_changes(user_dir, voice24k, audio, words):
    save_voice_sample("coach", voice24k)
    before = _snapshot(user_dir)
    with pytest.raises(UserError, match=words):
        save_voice_sample("coach", audio)
    assert _snapshot(user_dir) == before


def test_a_file_that_would_not_load_is_restored(user_dir, voice24k):
    user_dir.mkdir(parents=True)
    original = 'name = "Bee"\n\n[brain]\nkind = "nonsense-kind"\n'  # already broken
    (user_dir / "bee.toml").write_text(original, encoding="utf-8")
    with pytest.raises(UserError, match="not saved"):
        save_voice_sample("bee", voice24k)
    assert (user_dir / "bee.toml").read_text(encoding="utf-8") == original
    assert not (user_dir / "voices" / "bee.wav").exists()


def test_unknown_character_is_refused(user_dir, voice24k):
    with pytest.raises(UserError, match="no character called"):
        save_voice_sample("nobody", voice24k)
    assert _snapshot(user_dir) == {}


def test_scattered_voice_entries_are_not_edited_blindly():
    text = 'name = "Q"\nvoice.sample = "a.wav"\n'
    with pytest.raises(UserError, match="by hand"):
        replace_voice_table(text, '[voice]\nsample = "b.wav"\n')


def test_trim_silence_keeps_the_sound_and_a_margin():
    rng = np.random.default_rng(0)
    sound = rng.uniform(-0.5, 0.5, SAMPLE_RATE).astype(np.float32)
    x = np.concatenate([np.zeros(2 * SAMPLE_RATE), sound, np.zeros(3 * SAMPLE_RATE)]).astype(np.float32)
    y = trim_silence(x, margin_s=0.1)
    assert len(y) == len(sound) + 2 * round(0.1 * SAMPLE_RATE)
    np.testing.assert_array_equal(y[round(0.1 * SAMPLE_RATE): round(0.1 * SAMPLE_RATE) + len(sound)], sound)
    silent = np.zeros(SAMPLE_RATE, np.float32)
    assert len(trim_silence(silent)) == SAMPLE_RATE
