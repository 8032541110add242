"""Start-up objects kept out of Python's garbage collection, in each long-running process.

A Rasa process holds about 580,000 objects once its model is loaded
(TensorFlow, spaCy, the models, the domain), and a full collection walked them
all: 300-370 ms, every 15-20 s under bench.load at 50 visitors, while every turn
in that process waited. Loaded once and kept for the life of the process, they
are never garbage; frozen (gc.freeze, Python's own answer to this), a full
collection walks only what the process made since: 10-70 ms. The action
server's workers and the web server import TensorFlow through spaCy, so they
freeze theirs too, once their start-up loading is done (the web server in its
command, not in the app, which tests also run in their own process).
"""
from __future__ import annotations

import gc
import logging

logger = logging.getLogger(__name__)


def freeze_startup_objects(process: str) -> int:
    """Collects the start-up garbage, then freezes what is left; returns how many objects are frozen."""
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    logger.info("Start-up objects frozen for the garbage collector (%s): %d", process, frozen)
    return frozen
