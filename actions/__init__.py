"""Rasa custom actions: thin adapters between the tracker and the logic in `bot/`."""
import logging

from bot.data import load_all
from bot.logs import install_redaction
from bot.settings import get_settings

logging.getLogger("bot").setLevel(get_settings().log_level)
install_redaction()
# Fail at action-server start, not on a visitor's message, if a data file is bad.
load_all()
