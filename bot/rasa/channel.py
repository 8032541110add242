"""The Rasa input channel behind the web server: Rasa's REST channel for one caller only.

Enabled in credentials.yml as `bot.rasa.channel.WidgetInput`; Rasa listens on
loopback and the web server (bot/web/app.py), which makes every check on
visitors' requests, forwards the chat to POST /webhooks/widget/webhook with
the internal token. This channel refuses any other caller, and turns a typed
'/intent' that the assistant did not offer as a button into plain text.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from typing import Any, Awaitable, Callable, Dict, Optional, Set, Text

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.core import data
from bot.core.clinics import Clinic
from bot.core.files import secure_for
from bot.core.gc_freeze import freeze_startup_objects
from bot.core.guard import (
    EMPTY,
    MALFORMED,
    TOKEN_HEADER,
    UNAUTHORISED,
    UNAVAILABLE,
    Refusal,
    as_typed_text,
    offered_payloads,
    same_secret,
)
from bot.core.logs import install_logging_policy
from bot.core.settings import get_settings, require_internal_token
from bot.rasa import patches
from bot.store import clinic_profiles

logger = logging.getLogger(__name__)


class WidgetOutput(CollectingOutputChannel):
    """Rasa's collecting channel, but a response's text, buttons and custom payload stay one message.

    Rasa sends a response's `custom` as a message of its own; the widget and
    the tests read safety advice as text tagged `{"triage": ...}`.
    """

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        if message.get("text") and isinstance(message.get("custom"), dict) and not message.get("image"):
            await self._persist_message(self._message(recipient_id, text=message["text"],
                                                      buttons=message.get("buttons") or None,
                                                      custom=message["custom"]))
            return
        await super().send_response(recipient_id, message)


class KnownSenders:
    """Visitors whose conversation this process has seen lately, so a turn need not load it twice to know.

    Loading a tracker from the store took about 8% of Rasa's time per turn
    (py-spy); Rasa loads it again anyway to answer. Kept for `ttl` seconds, far
    less than the retention period, so a purged conversation is never taken for known.
    """

    def __init__(self, ttl: float = 600.0, max_entries: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.max_entries, self.clock = ttl, max_entries, clock
        self._seen: "OrderedDict[str, float]" = OrderedDict()

    def __contains__(self, sender: str) -> bool:
        seen = self._seen.get(sender)
        return seen is not None and self.clock() - seen < self.ttl

    def add(self, sender: str) -> None:
        self._seen[sender] = self.clock()
        self._seen.move_to_end(sender)
        while len(self._seen) > self.max_entries:
            self._seen.popitem(last=False)


def _begin_of(store: Any) -> Optional[Callable[[DialogueStateTracker], None]]:
    """ConversationStore.begin, inside the wrappers Rasa puts around the tracker store (fail-safe, awaitable)."""
    for _ in range(4):
        if store is None or hasattr(store, "begin"):
            break
        store = getattr(store, "_tracker_store", None)
    return getattr(store, "begin", None)


class WidgetInput(InputChannel):
    known = KnownSenders()

    @classmethod
    def name(cls) -> Text:
        return "widget"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        settings = get_settings()
        install_logging_policy(settings.log_level)  # the first Medius code the Rasa process loads
        secure_for(settings)
        patches.install(settings)  # before Rasa loads the model: the patches whose switch is on
        token = require_internal_token(settings)
        data.read_clinics_from(clinic_profiles.directory)  # the database's profiles, checked per message
        webhook = Blueprint("widget_webhook", __name__)

        @webhook.listener("after_server_stop")
        async def close_connections(*_: Any) -> None:
            await patches.close_sessions()

        if settings.rasa_speedups:
            @webhook.listener("after_server_start")  # after Rasa's own listener has loaded the model
            async def freeze_model(*_: Any) -> None:
                freeze_startup_objects("rasa")

        def refuse(refusal: Refusal) -> HTTPResponse:
            # The reason code only: the message itself may hold personal data.
            logger.info("Chat request refused: %s", refusal.code)
            return response.json(refusal.body(), status=refusal.status)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not same_secret(request.headers.get(TOKEN_HEADER), token):
                return refuse(UNAUTHORISED)
            try:
                document = json.loads(request.body or b"")
                sender, text = document["sender"], document["message"]
                clinic = data.clinics().get(document["metadata"]["clinic"])
            except (ValueError, KeyError, TypeError):
                return refuse(MALFORMED)
            if not isinstance(sender, str) or not isinstance(text, str) or clinic is None:
                return refuse(MALFORMED)
            # Exactly as Rasa's UserMessage will, before judging: " /restart" was no slash command to the
            # guard, then Rasa stripped it into one, and the restart wiped the clinic's slots.
            text = text.strip()
            if text.startswith("/"):
                text = as_typed_text(text, {*data.starter_payloads(), *await self._offered(request, sender)})
            if not text:
                return refuse(EMPTY)
            if not await self._start_session(request, sender, clinic):
                await self._keep_clinic(request, sender, clinic)
            return await self._answer(UserMessage(text, WidgetOutput(), sender,
                                                  input_channel=self.name(), metadata={"clinic": clinic.id}),
                                      on_new_message, refuse, clinic)

        return webhook

    @staticmethod
    async def _keep_clinic(request: Request, sender: str, clinic: Clinic) -> None:
        """Every turn, the clinic's slots as the web server vouches for them, whatever happened to the conversation.

        A restart or any other reset must never leave a conversation without its
        clinic ("None's team") or let a booking default to another clinic's leads.
        Under the conversation's lock, so no turn of the same visitor runs meanwhile;
        the store keeps the conversation's latest copy, so the look-up is cheap.
        """
        agent = getattr(request.app.ctx, "agent", None)
        if agent is None or agent.tracker_store is None:
            return
        try:
            async with agent.lock_store.lock(sender):
                tracker = await agent.tracker_store.retrieve(sender)
                wrong = {name: value for name, value in clinic.slots().items()
                         if tracker is not None and tracker.get_slot(name) != value}
                if tracker is not None and wrong:
                    for name, value in wrong.items():
                        tracker.update(SlotSet(name, value))
                    await agent.tracker_store.save(tracker)
        except Exception as error:  # noqa: BLE001 - the turn itself still runs; Rasa reports a store that is away
            logger.warning("Could not check the conversation's clinic: %s", type(error).__name__)

    @classmethod
    async def _start_session(cls, request: Request, sender: str, clinic: Clinic) -> bool:
        """A new conversation's session starts here, in Rasa, with the clinic's slots.

        Done by a custom action, a first message with the action server down lost
        the session's events and got "Sorry, I lost track" even for an emergency.
        Later sessions are started by Rasa's default action, which carries the slots over.
        The events go to the conversation store, whose first turn of the conversation
        writes them with its own, unless the database already holds the conversation.
        """
        if sender in cls.known:
            return False
        agent = getattr(request.app.ctx, "agent", None)
        if agent is None or agent.tracker_store is None:
            return False
        store = agent.tracker_store
        begin = _begin_of(store)
        if begin is None and await store.retrieve(sender) is not None:  # another store: as Rasa's would
            cls.known.add(sender)
            return False
        tracker = DialogueStateTracker.from_events(sender, [
            ActionExecuted(ACTION_SESSION_START_NAME), SessionStarted(),
            *[SlotSet(name, value) for name, value in clinic.slots().items()],
            ActionExecuted(ACTION_LISTEN_NAME)], agent.domain.slots)
        if begin is not None:
            begin(tracker)
        else:
            await store.save(tracker)
        cls.known.add(sender)
        return True  # begun with the clinic's slots (or, for the conversation store, about to be)

    @staticmethod
    async def _offered(request: Request, sender: str) -> Set[str]:
        """The buttons of the assistant's last reply to this visitor, read from the tracker store."""
        agent = getattr(request.app.ctx, "agent", None)
        tracker = await agent.tracker_store.retrieve(sender) if agent and agent.tracker_store else None
        return offered_payloads(event.as_dict() for event in tracker.events) if tracker else set()

    @staticmethod
    async def _answer(message: UserMessage, on_new_message: Callable[[UserMessage], Awaitable[Any]],
                      refuse: Callable[[Refusal], HTTPResponse], clinic: Clinic) -> HTTPResponse:
        try:
            # Shielded: if the caller gives up, the turn still completes and is saved, never half-done.
            await asyncio.shield(on_new_message(message))
        except (asyncio.CancelledError, Exception) as error:  # noqa: BLE001 - any failure gets the error line
            # Never echo the text: it may be personal.
            logger.error("Chat message failed: %s", type(error).__name__)
            return refuse(UNAVAILABLE)
        replies = message.output_channel.messages
        if not replies:  # an action failed (the action server is down): still an answer, with the clinic's phone
            logger.warning("The assistant had no answer (an action failed)")
            replies = [{"recipient_id": message.sender_id,
                        "text": data.widget_texts()["no_answer"].replace("{contact}", clinic.contact_phrase())}]
        return response.json(replies)
