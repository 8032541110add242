"""One settings object, read from the environment and an optional `.env` file."""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Mapping, Optional

from dotenv import load_dotenv

from bot.paths import DATA, ROOT


@dataclass(frozen=True)
class Settings:
    default_clinic: str
    clinics_file: Path
    topics_file: Path
    causes_file: Path
    log_level: str


def _project_path(value: str) -> Path:
    """A path from the environment; relative ones are taken from the project root."""
    path = Path(value)
    return path if path.is_absolute() else ROOT / path


def settings_from(env: Mapping[str, str]) -> Settings:
    """Build settings from a mapping, so tests need not touch the process environment."""
    return Settings(
        default_clinic=env.get("MEDIUS_DEFAULT_CLINIC", "stl").strip() or "stl",
        clinics_file=_project_path(env.get("MEDIUS_CLINICS_FILE") or str(DATA / "clinics.yml")),
        topics_file=_project_path(env.get("MEDIUS_TOPICS_FILE") or str(DATA / "topics.yml")),
        causes_file=_project_path(env.get("MEDIUS_CAUSES_FILE") or str(DATA / "causes.yml")),
        log_level=env.get("LOG_LEVEL", "INFO").upper(),
    )


@lru_cache(maxsize=1)
def get_settings(env_file: Optional[Path] = None) -> Settings:
    """The process-wide settings; `.env` fills only variables not already set."""
    load_dotenv(env_file or ROOT / ".env", override=False)
    return settings_from(os.environ)
