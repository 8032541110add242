"""Rasa custom actions: thin adapters between the tracker and the logic in `bot/`."""
from bot.core.data import load_all
from bot.core.logs import install_logging_policy
from bot.core.settings import get_settings

install_logging_policy(get_settings().log_level)
# Fail at action-server start, not on a visitor's message, if a data file is bad.
load_all()
