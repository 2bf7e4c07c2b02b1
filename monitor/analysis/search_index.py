"""Filling the search index in the background: the backfill of an old store's versions
(monitor/store/search_backfill.py), run a batch at a time by `heishi run` between sweeps and
to the end by `heishi search --reindex`."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from monitor.store.search_backfill import BackfillState

if TYPE_CHECKING:
    from monitor.store import Store


def backfill(
    store: Store,
    *,
    seconds: float | None = None,
    on_batch: Callable[[BackfillState], None] | None = None,
) -> BackfillState | None:
    """Index the backfill's next batches, each in its own transaction, for about `seconds`
    (None: until it is complete); returns its state (None: there is nothing to backfill)."""
    deadline = None if seconds is None else time.monotonic() + seconds
    state = store.search_backfill.state()
    while state is not None and not state.complete:
        state = store.search_backfill.index_next()
        if on_batch is not None and state is not None:
            on_batch(state)
        if deadline is not None and time.monotonic() >= deadline:
            break
    return state


def reindex(
    store: Store, on_batch: Callable[[BackfillState], None] | None = None, *, resume: bool = True
) -> BackfillState | None:
    """Rebuild the index from every stored version: an unfinished backfill made with the
    current keyword lists' segmentation resumes where it stopped (unless `resume` is false),
    otherwise the index is emptied and backfilled from the first version."""
    from monitor.analysis.search import index_is_current

    state = store.search_backfill.state()
    resumable = state is not None and not state.complete and index_is_current(store) is not False
    if not (resume and resumable):
        state = store.search_backfill.restart()
        with store.transaction():
            store.search.record_segmentation()
    return backfill(store, on_batch=on_batch)


def describe_incomplete(state: BackfillState | None, pending: int) -> str | None:
    """The line a search prints while the index is not complete, or None when it is."""
    if state is None or state.complete:
        return None
    return (
        f"the search index is still being filled ({pending:,} stored versions to go): "
        "text only they hold is not found yet; heishi run fills it in the background, "
        "heishi search --reindex fills it now"
    )
