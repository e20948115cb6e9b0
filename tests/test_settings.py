"""The remembered settings: TOML round trip, atomic writes, broken files, the config folder."""

from __future__ import annotations

import dataclasses
import logging
import tomllib

import pytest

from app.conversation.options import to_session_options, with_voice_overrides
from app.settings import AppSettings, load_settings, save_settings, settings_path, settings_toml


@pytest.fixture
def config_dir(tmp_path, monkeypatch):
    folder = tmp_path / "config"
    monkeypatch.setenv("DIA2CHAT_CONFIG_DIR", str(folder))
    return folder


def _everything_changed() -> AppSettings:
    return AppSettings(
        character="milo",
        input_device='USB "Mic"\\ 2 \u00e9\n',
        output_device="pulse",
        hands_free=False,
        headphones=True,
        echo_canceller="spectral",
        noise_suppression=False,
        vad_threshold=0.35,
        demo=True,
        model="/models/dia2 folder",
        mimi="kyutai/mimi",
        device="cuda:1",
        precision="fast",
        asr_model="tiny.en",
        brain="openai",
        llm_url="http://127.0.0.1:8080/v1",
        llm_model="llama3.2:latest",
        cfg_scale=3.5,
        audio_temperature=0.1 + 0.2,  # a float that needs every digit
        top_k=40,
        theme="dark",
        window_geometry="AdnQywADAAAAAAB/AAAAWw==",
        models_folder="/data/hf",
    )


def test_round_trip_keeps_every_field(config_dir):
    s = _everything_changed()
    # every field differs from its default, so the round trip proves each one
    assert all(getattr(s, f.name) != f.default for f in dataclasses.fields(AppSettings))
    path = save_settings(s)
    assert path == config_dir / "settings.toml" == settings_path()
    assert load_settings() == s
    assert load_settings(path) == s


def test_defaults_and_none_round_trip(config_dir):
    assert load_settings() == AppSettings()  # no file yet
    save_settings(AppSettings())
    text = (config_dir / "settings.toml").read_text()
    assert "input_device" not in text  # None is written by leaving the key out
    assert load_settings() == AppSettings()
    # a value set back to None disappears from the file
    save_settings(AppSettings(cfg_scale=2.5))
    save_settings(AppSettings())
    assert load_settings().cfg_scale is None


def test_written_file_is_plain_toml(tmp_path):
    data = tomllib.loads(settings_toml(_everything_changed()))
    assert data["input_device"] == 'USB "Mic"\\ 2 \u00e9\n'
    assert data["audio_temperature"] == 0.1 + 0.2
    assert data["hands_free"] is False and data["top_k"] == 40


def test_atomic_write_leaves_no_temporary_files(config_dir):
    for i in range(3):
        save_settings(AppSettings(top_k=10 + i))
    assert sorted(p.name for p in config_dir.iterdir()) == ["settings.toml"]
    assert load_settings().top_k == 12


def test_failed_write_removes_its_temporary_file(config_dir):
    save_settings(AppSettings(theme="light"))
    # the final rename fails (the target is a folder) after the temporary file was written
    blocked = config_dir / "blocked.toml"
    blocked.mkdir()
    with pytest.raises(OSError):
        save_settings(AppSettings(theme="dark"), blocked)
    assert sorted(p.name for p in config_dir.iterdir()) == ["blocked.toml", "settings.toml"]
    assert list(blocked.iterdir()) == []
    assert load_settings().theme == "light"


def test_unknown_keys_are_ignored_with_a_warning(config_dir, caplog):
    config_dir.mkdir()
    (config_dir / "settings.toml").write_text('theme = "dark"\nvolume = 11\n[extra]\na = 1\n')
    with caplog.at_level(logging.WARNING, logger="app.settings"):
        s = load_settings()
    assert s == AppSettings(theme="dark")
    assert "unknown setting 'volume'" in caplog.text
    assert "unknown setting 'extra'" in caplog.text


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("hands_free = 1", "hands_free"),
        ('vad_threshold = "high"', "vad_threshold"),
        ("vad_threshold = 1.5", "vad_threshold"),
        ("top_k = 2.5", "top_k"),
        ("top_k = true", "top_k"),
        ("top_k = 0", "top_k"),
        ('theme = "purple"', "theme"),
        ('precision = "float16"', "precision"),
        ('echo_canceller = "speex"', "echo_canceller"),
        ('device = "tpu"', "device"),
        ("input_device = 3", "input_device"),
        ("cfg_scale = nan", "cfg_scale"),
        ('brain = "script"', "brain"),
    ],
)
def test_a_bad_value_falls_back_to_its_default_only(config_dir, caplog, line, key):
    config_dir.mkdir()
    (config_dir / "settings.toml").write_text(f'character = "coach"\n{line}\n')
    with caplog.at_level(logging.WARNING, logger="app.settings"):
        s = load_settings()
    assert s == AppSettings(character="coach")  # the good value is kept
    assert key in caplog.text and "using the default" in caplog.text


def test_ints_are_accepted_where_floats_are_expected(config_dir):
    config_dir.mkdir()
    (config_dir / "settings.toml").write_text("cfg_scale = 3\n")
    s = load_settings()
    assert s.cfg_scale == 3.0 and isinstance(s.cfg_scale, float)


def test_unparseable_file_is_set_aside(config_dir, caplog):
    config_dir.mkdir()
    path = config_dir / "settings.toml"
    path.write_text('theme = "dark"\nthis is [not toml\n')
    with caplog.at_level(logging.WARNING, logger="app.settings"):
        assert load_settings() == AppSettings()
    assert not path.exists()
    broken = config_dir / "settings.toml.broken"
    assert broken.read_text().startswith('theme = "dark"')
    assert "settings.toml.broken" in caplog.text
    # the next save starts afresh and loads normally
    save_settings(AppSettings(theme="light"))
    assert load_settings().theme == "light"


def test_binary_garbage_is_set_aside(config_dir):
    config_dir.mkdir()
    (config_dir / "settings.toml").write_bytes(b"\xff\xfe\x00garbage")
    assert load_settings() == AppSettings()
    assert (config_dir / "settings.toml.broken").exists()


def test_env_override_and_default_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("DIA2CHAT_CONFIG_DIR", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    default = settings_path()
    assert default.name == "settings.toml" and default.parent.name == "dia2-voicechat"
    monkeypatch.setenv("DIA2CHAT_CONFIG_DIR", str(tmp_path / "elsewhere"))
    assert settings_path() == tmp_path / "elsewhere" / "settings.toml"
    save_settings(AppSettings(character="milo"))
    assert (tmp_path / "elsewhere" / "settings.toml").is_file()


def test_app_name_matches_the_characters_one():
    from app.conversation.character import APP_NAME
    from app.settings import APP_NAME as SETTINGS_APP_NAME

    assert SETTINGS_APP_NAME == APP_NAME


def test_session_options_and_voice_overrides():
    from app.conversation.character import Character, Dia2Settings

    s = _everything_changed()
    opts = to_session_options(s)
    assert (opts.demo, opts.model, opts.mimi, opts.device, opts.precision) == (
        True, "/models/dia2 folder", "kyutai/mimi", "cuda:1", "fast")
    assert (opts.asr_model, opts.brain, opts.llm_url, opts.llm_model) == (
        "tiny.en", "openai", "http://127.0.0.1:8080/v1", "llama3.2:latest")
    ava = Character("Ava", dia2=Dia2Settings(cfg_scale=2.0, text_temperature=0.6, seed=3))
    assert with_voice_overrides(ava, AppSettings()) is ava
    changed = with_voice_overrides(ava, s)
    assert changed.dia2 == Dia2Settings(cfg_scale=3.5, text_temperature=0.6,
                                        audio_temperature=0.1 + 0.2, top_k=40, seed=3)
    assert changed.name == "Ava"


def test_the_former_dtype_setting_becomes_precision(config_dir):
    config_dir.mkdir()
    (config_dir / "settings.toml").write_text('dtype = "bfloat16"\n')
    assert load_settings().precision == "fast"
    (config_dir / "settings.toml").write_text('dtype = "float32"\nprecision = "reference"\n')
    assert load_settings().precision == "reference"  # the new key wins
