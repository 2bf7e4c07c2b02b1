"""The SQLite store: the only place that opens connections, creates tables and writes SQL.

`open_store(path)` returns a `Store`; its methods are grouped by table family in the modules
of this package (runs, listings, alerts) and re-exported here.
"""

from monitor.store.clock import utc_now
from monitor.store.connection import Store, open_store
from monitor.store.schema import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "Store", "open_store", "utc_now"]
