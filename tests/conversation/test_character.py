"""Character files: the shipped ones load, broken ones say which file and field is wrong, the
voice sample's words are recognised once and then cached."""

from __future__ import annotations

import pytest

from app.brains.openai_compat import OpenAICompatibleConfig
from app.conversation.character import (
    BUILTIN_DIR,
    character_files,
    find_character,
    load_character,
    voice_words,
)
from app.errors import UserError


def test_shipped_characters_load():
    files = sorted(BUILTIN_DIR.glob("*.toml"))
    assert len(files) >= 2
    for path in files:
        ch = load_character(path)
        assert ch.name and ch.persona and ch.greeting
        assert ch.voice is None  # no audio ships: the voice locks on the first reply
        assert ch.name in ch.system_prompt()
    assert isinstance(load_character(BUILTIN_DIR / "milo.toml").brain, OpenAICompatibleConfig)


def test_dia2_settings_become_options(write_character):
    ch = load_character(write_character('''
        name = "Zed"
        [dia2]
        cfg_scale = 3
        top_k = 20
        seed = 5
    '''))
    opt = ch.dia2.options(turn=2, max_frames=10)
    assert (opt.cfg_scale, opt.audio_top_k, opt.text_top_k, opt.seed, opt.max_frames) == (3.0, 20, 20, 7, 10)


@pytest.mark.parametrize("text, field", [
    ('name = "A"\npersona = "unclosed', "not valid TOML"),
    ('persona = "no name"', "'name'"),
    ('name = ""', "'name'"),
    ('name = 3', "'name'"),
    ('name = "A"\nmood = "happy"', "'mood'"),
    ('name = "A"\n[dia2]\ncfg_scale = "high"', "dia2.cfg_scale"),
    ('name = "A"\n[dia2]\ntop_k = 1.5', "dia2.top_k"),
    ('name = "A"\n[dia2]\nwarmth = 1', "dia2.warmth"),
    ('name = "A"\n[dia2]\ntop_k = 0', "[dia2]"),
    ('name = "A"\n[brain]\nkind = "oracle"', "[brain]"),
    ('name = "A"\n[brain]\nkind = "openai"\nmax_tokens = "many"', "max_tokens"),
    ('name = "A"\n[voice]\nsample = "missing.wav"', "voice.sample"),
    ('name = "A"\n[voice]\ntranscript = "hi"', "voice.sample"),
    ('name = "A"\nvoice = "x.wav"', "[voice]"),
])
def test_broken_file_names_file_and_field(write_character, text, field):
    path = write_character(text)
    with pytest.raises(UserError) as err:
        load_character(path)
    assert str(path) in str(err.value)
    assert field in str(err.value)


def test_find_by_stem_name_or_path_user_folder_first(tmp_path, write_character):
    user = tmp_path / "user"
    user.mkdir()
    (user / "ava.toml").write_text('name = "My Ava"\n')
    (user / "x1.toml").write_text('name = "Rex"\n')
    (user / "broken.toml").write_text('name = \n')
    dirs = [user, BUILTIN_DIR]
    assert find_character("ava", dirs).name == "My Ava"
    assert find_character("MILO", dirs).name == "Milo"
    assert find_character("rex", dirs).name == "Rex"
    assert "broken" in character_files(dirs)
    assert find_character(str(write_character('name = "P"'))).name == "P"
    with pytest.raises(UserError, match="no character called 'nobody'"):
        find_character("nobody", dirs)


def test_voice_words_recognised_once_then_cached(tmp_path, demo_models, speech_files, write_character, speech24k):
    _, recognizer = demo_models
    path = write_character(f'name = "V"\n[voice]\nsample = "{speech_files[0]}"\n')
    ch = load_character(path)
    calls = []

    def transcribe(audio16k):
        calls.append(len(audio16k))
        return recognizer.transcribe(audio16k)

    first = voice_words(ch, speech24k, transcribe, tmp_path / "cache")
    again = voice_words(ch, speech24k, transcribe, tmp_path / "cache")
    assert first and first == again
    assert len(calls) == 1
    assert all(0 <= w.start <= w.end <= len(speech24k) / 24000 + 0.1 for w in first)


def test_voice_words_given_in_the_file_are_used(write_character, speech_files, speech24k):
    ch = load_character(write_character(
        f'name = "V"\n[voice]\nsample = "{speech_files[0]}"\nwords = [["Hello", 0.1, 0.5], ["you", 0.6, 0.9]]\n'))
    assert [w.text for w in voice_words(ch, speech24k, lambda a: pytest.fail("no recognition"))] == ["Hello", "you"]


def test_cli_reports_a_broken_character_file(write_character, capsys):
    from app.cli import main

    path = write_character('name = "A"\n[dia2]\ncfg_scale = "loud"\n')
    assert main(["chat", "--character", str(path), "--headless", "--user-audio", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "dia2.cfg_scale" in err and "Traceback" not in err
