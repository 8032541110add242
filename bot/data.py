"""The project's data files, loaded and validated once per process."""
from __future__ import annotations

from functools import lru_cache

from bot.causes import CauseFinder, load_cause_finder
from bot.clinics import ClinicDirectory, load_clinics
from bot.knowledge import Knowledge, load_knowledge
from bot.settings import Settings, get_settings


def clinics_for(settings: Settings) -> ClinicDirectory:
    return ClinicDirectory(load_clinics(settings.clinics_file), settings.default_clinic)


@lru_cache(maxsize=1)
def clinics() -> ClinicDirectory:
    return clinics_for(get_settings())


@lru_cache(maxsize=1)
def knowledge() -> Knowledge:
    return load_knowledge(get_settings().topics_file)


@lru_cache(maxsize=1)
def cause_finder() -> CauseFinder:
    return load_cause_finder(get_settings().causes_file)


def load_all() -> None:
    """Load every data file now, so a bad file stops start-up with a clear message."""
    clinics()
    knowledge()
    cause_finder()
