"""The SQLite store: the only place that opens connections, creates tables and writes SQL.

`open_store(path)` returns a `Store`: a connection (base.py) holding one query group per
family of tables as an attribute, each defined in its own module of this package
(`store.runs` in runs.py, `store.listings` in listings.py, `store.alerts` in alerts.py, ...).
"""

from monitor.store.clock import utc_now
from monitor.store.connection import Store, open_store
from monitor.store.schema import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "Store", "open_store", "utc_now"]
