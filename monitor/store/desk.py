"""What the review desk needs from the store beyond the plain queue (monitor/store/review.py):
the filtered queue's order, for moving from one alert to the next without going back to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.store.review import QUEUE_SORTS, QueueFilters, _queue_where

if TYPE_CHECKING:
    from monitor.store.connection import Store


class DeskQueries:
    """Methods of Store for the review desk."""

    def queue_order(
        self: Store, filters: QueueFilters, *, sort: str = "created", descending: bool = True
    ) -> list[int]:
        """The ids of the alerts `filters` selects, in the queue's order (as review_queue
        pages them): where an alert stands in its queue, and which comes next."""
        where, params = _queue_where(filters)
        order = QUEUE_SORTS.get(sort, QUEUE_SORTS["created"])
        direction = "DESC" if descending else "ASC"
        sql = (
            f"SELECT a.id FROM alerts a LEFT JOIN listings l ON l.id = a.listing_id{where} "
            f"ORDER BY {order} IS NULL, {order} {direction}, a.id {direction}"
        )
        return [row[0] for row in self.conn.execute(sql, params)]
