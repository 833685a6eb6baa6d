"""Benchmarks run thousands of syncs: the layer's INFO lines would drown the figures they print."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from ghlsync.observability import logger


@contextmanager
def quiet_logs() -> Iterator[None]:
    """The layer's logger at WARNING for the block, restored after it."""
    level = logger.log_level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)
