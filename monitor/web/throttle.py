"""Slowing password guessing without ever locking an account.

Failed log-ins are counted per user name and per client address (an IPv6 client by its /64,
which one machine usually holds whole). Past a few failures a key must wait before its next
attempt, twice as long after each further failure, up to a ceiling: while the wait runs every
attempt is answered 429 with Retry-After, whatever the password, and is not counted; once it
has run, the right password logs in and clears the name's count. Guessing one name from many
addresses meets the name's limit, and spraying many names from one address meets the
address's. The counts live in the store (`login_failures`): a restart forgets nothing, rows
expire, and the table is capped.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from monitor.store import Store


@dataclass(frozen=True)
class LoginThrottle:
    """How failed log-ins are slowed; the defaults suit a small team's review page."""

    name_failures_free: int = 5  # failures of one name before it must wait
    address_failures_free: int = 10  # failures from one address (any names) before it waits
    first_wait: float = 1.0  # seconds, after the first failure past the free ones
    max_wait: float = 600.0  # the wait never grows past this: no account is ever locked
    forget_after: float = 24 * 3600.0  # a key with no failure for this long starts afresh
    max_rows: int = 10_000  # keys kept at most (the oldest go first)

    def wait_after(self, failures: int, free: int) -> float:
        """Seconds a key must wait after its `failures`-th failure."""
        if failures < free:
            return 0.0
        return min(self.max_wait, self.first_wait * 2.0 ** min(failures - free, 60))

    def attempt(self, store: Store, name: str | None, address: str, now: float) -> float:
        """Seconds the client must still wait (0: it may try, and the attempt is counted as a
        failure until `succeeded` says otherwise). `name` is None when it cannot be a user's
        name: only the address is counted then."""
        keys = {address_key(address): self.address_failures_free}
        if name is not None:
            keys[name_key(name)] = self.name_failures_free
        return store.web_auth.claim_login_attempt(
            keys,
            now,
            delay=self.wait_after,
            forget_after=self.forget_after,
            max_rows=self.max_rows,
        )

    def wait_for(self, store: Store, address: str, now: float) -> float:
        """Seconds the client at `address` must still wait, counting nothing (a request that
        brings a valid API token is held back by its address's failures all the same)."""
        return store.web_auth.login_wait(
            {address_key(address): self.address_failures_free}, now, delay=self.wait_after
        )

    def succeeded(self, store: Store, name: str, address: str) -> None:
        store.web_auth.login_succeeded([name_key(name)], [address_key(address)])


def name_key(name: str) -> str:
    return f"name:{name}"


def address_key(address: str) -> str:
    """`addr:` and the client's address; an IPv6 address stands for its /64."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return f"addr:{address[:64]}"
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return f"addr:{parsed.ipv4_mapped}"
        return f"addr:{ipaddress.IPv6Network((parsed, 64), strict=False)}"
    return f"addr:{parsed}"
