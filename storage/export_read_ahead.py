"""Read ahead: a generator of batches run in a thread of its own, a few batches in front."""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator
from typing import Any

_END = object()


def read_ahead(batches: Generator[list[Any]], depth: int = 2) -> Generator[list[Any]]:
    """Run `batches` in a thread of its own, at most `depth` batches ahead of the reader.

    The thread alone uses the session while the export runs; an error there is raised here, and
    a reader that stops early (a download cut short) stops the thread before going on.
    """
    handoff: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(item: Any) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        last: Any = _END
        try:
            for batch in batches:
                if not offer(batch):
                    return
        except BaseException as error:  # handed to the reader, raised there
            last = error
        finally:
            batches.close()
        offer(last)

    worker = threading.Thread(target=produce, name="export-read-ahead", daemon=True)
    worker.start()
    try:
        while (item := handoff.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()
