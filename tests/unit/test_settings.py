import os
import re

import pytest

from bot.core.paths import ROOT
from bot.core.settings import get_settings, require_internal_token, settings_from


def test_defaults_point_at_the_project_data():
    settings = settings_from({})
    assert settings.default_clinic == "stl"
    assert settings.clinics_file == ROOT / "data" / "clinics.yml"
    assert settings.log_level == "INFO"


def test_relative_paths_are_taken_from_the_project_root_and_blank_values_mean_default():
    settings = settings_from({"MEDIUS_CLINICS_FILE": "elsewhere/c.yml", "MEDIUS_DEFAULT_CLINIC": "  ",
                              "MEDIUS_TOPICS_FILE": "", "MEDIUS_LOG_LEVEL": "debug"})
    assert settings.clinics_file == ROOT / "elsewhere" / "c.yml"
    assert settings.default_clinic == "stl"
    assert settings.topics_file == ROOT / "data" / "topics.yml"
    assert settings.log_level == "DEBUG"


def test_dotenv_fills_unset_variables_only(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text("MEDIUS_DEFAULT_CLINIC=boston\nMEDIUS_LOG_LEVEL=WARNING\n")
    monkeypatch.delenv("MEDIUS_DEFAULT_CLINIC", raising=False)
    monkeypatch.setenv("MEDIUS_LOG_LEVEL", "ERROR")
    get_settings.cache_clear()
    try:
        settings = get_settings(env_file)
        assert settings.default_clinic == "boston"
        assert settings.log_level == "ERROR"
    finally:
        # load_dotenv wrote it into os.environ; monkeypatch.delenv here would restore it at teardown
        # and leak boston into every server started later in the run.
        os.environ.pop("MEDIUS_DEFAULT_CLINIC", None)
        get_settings.cache_clear()


def test_rasas_log_level_does_not_set_ours():
    assert settings_from({"LOG_LEVEL": "DEBUG"}).log_level == "INFO"


def test_smtp_is_encrypted_unless_asked_otherwise():
    assert settings_from({}).smtp_security == "starttls"
    assert settings_from({"SMTP_PORT": "465"}).smtp_security == "tls"
    assert settings_from({"SMTP_SECURITY": "None"}).smtp_security == "none"
    with pytest.raises(ValueError, match="SMTP_SECURITY"):
        settings_from({"SMTP_SECURITY": "ssl3"})


def test_a_missing_or_short_internal_secret_stops_start_up():
    with pytest.raises(SystemExit, match="MEDIUS_INTERNAL_TOKEN"):
        require_internal_token(settings_from({}))
    with pytest.raises(SystemExit):
        require_internal_token(settings_from({"MEDIUS_INTERNAL_TOKEN": "secret"}))
    assert require_internal_token(settings_from({"MEDIUS_INTERNAL_TOKEN": "x" * 32})) == "x" * 32


def test_every_setting_is_documented_in_env_example(root):
    source = (root / "bot" / "core" / "settings.py").read_text()
    names = set(re.findall(r'env\.get\("([A-Z_]+)"', source)) | set(re.findall(r'_number\(env, "([A-Z_]+)"', source))
    documented = set(re.findall(r"^#? ?([A-Z_]+)=", (root / ".env.example").read_text(), re.M))
    assert names and names <= documented, sorted(names - documented)


def test_rasa_speedups_are_on_unless_turned_off():
    assert settings_from({}).rasa_speedups
    assert settings_from({"MEDIUS_RASA_SPEEDUPS": "on"}).rasa_speedups
    assert not any(settings_from({"MEDIUS_RASA_SPEEDUPS": value}).rasa_speedups
                   for value in ("off", "0", "False", " no "))
