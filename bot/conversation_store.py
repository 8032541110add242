"""The tracker store Rasa loads (endpoints.yml): its SQLTrackerStore, set up from Medius's settings.

One setting, CONVERSATIONS_DATABASE_URL, instead of Rasa's separate dialect,
host, port and database fields; see bot/conversations.py for retention.
"""
from __future__ import annotations

from typing import Any, Optional

from rasa.core.tracker_store import SQLTrackerStore

from bot.conversations import store_arguments
from bot.logs import install_logging_policy
from bot.settings import get_settings


class ConversationStore(SQLTrackerStore):
    def __init__(self, domain: Any = None, host: Optional[str] = None, event_broker: Any = None,
                 **kwargs: Any) -> None:
        settings = get_settings()
        install_logging_policy(settings.log_level)
        super().__init__(domain=domain, event_broker=event_broker, **store_arguments(settings.conversations_url))
