"""Distributed sweeps in Redis: the key layout, the reliable request queue, the sweep registry
and the item stream shared by the workers (spiders/distributed/) and the writer
(monitor/running/writer.py). No Scrapy here: the writer and the command line import it cheaply.

Keys (one sweep = one crawl of one source, spread over workers; `{id}` is its sweep id, which
starts with the source's name, so two sweeps never share a queue or a duplicate filter):

    heishi:sweeps                 ZSET   open sweep ids, scored by creation time
    heishi:sweep:{id}             HASH   source, kind, url, removed_after_sweeps,
                                         list_may_shrink, created and their signature
                                         `sig`, state (open | closed), seeded, run_id
                                         (signed: `run_sig`) and the outcome
    heishi:sweep:{id}:queue       ZSET   requests waiting ("<deliveries>|<signed request>",
                                         scored -priority, as scrapy-redis' PriorityQueue)
    heishi:sweep:{id}:inflight    HASH   lease id -> "<deliveries>|<score>|<signed request>"
    heishi:sweep:{id}:leases      ZSET   lease id -> expiry (Redis server time)
    heishi:sweep:{id}:dupefilter  SET    request fingerprints (scrapy-redis RFPDupeFilter)
    heishi:sweep:{id}:seeding     STRING the worker sending the start requests (with a TTL)
    heishi:sweep:{id}:stats       HASH   crawl stats summed over the workers
    heishi:sweep:{id}:written     SET    site ids the writer has committed in this sweep
    heishi:items                  STREAM finished items (fields `sweep`, `site_id`, `item`,
                                         `sig`), read by the consumer group `writers`

Requests are JSON (spiders/distributed/serializer.py), never pickle. Requests, items, sweep
records and run ids are signed with the installation's shared key (monitor.running.payload_signing);
an entry that does not verify is counted (REJECTED_STAT), logged without its contents and
dropped, and makes its sweep's run partial: someone without the key wrote to this Redis.

A popped request moves to `inflight` under a lease in one script; the worker renews its leases
while it works and acknowledges each request once its response was handled (child requests
queued, items on the stream). Leases that expire (the worker died) go back on the queue; a
request delivered `max_deliveries` times is given up and counted, which makes the run partial.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from monitor.running.payload_signing import BadSignature, Signer

log = logging.getLogger(__name__)

PREFIX = "heishi"
ACTIVE_SWEEPS = f"{PREFIX}:sweeps"
ITEM_STREAM = f"{PREFIX}:items"
WRITER_GROUP = "writers"
DEFAULT_LEASE_SECONDS = 60.0
DEFAULT_MAX_DELIVERIES = 3
# Stats the workers add up in the sweep's stats hash.
LOST_STAT = "heishi/distributed/lost_requests"
REQUEUED_STAT = "heishi/distributed/requeued_requests"
# Queue and stream entries refused: unsigned, badly signed or malformed.
REJECTED_STAT = "heishi/distributed/rejected_entries"
# The fields of a sweep's record its signature covers, in this order.
SIGNED_FIELDS = ("source", "kind", "url", "removed_after_sweeps", "list_may_shrink", "created")
# Sweep ids name Redis keys and log files: `<source>-<time>-<hex>`, nothing else.
_SWEEP_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,150}$")
# Closed sweeps' records stay this long for `heishi distributed status`.
CLOSED_TTL_SECONDS = 7 * 24 * 3600


def sweep_key(sweep: str, part: str | None = None) -> str:
    """The Redis key of one part of a sweep (None: its hash)."""
    return f"{PREFIX}:sweep:{sweep}" + (f":{part}" if part else "")


def redacted(url: str) -> str:
    """`url` fit for a log: its password replaced by ***."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        user = parts.username or ""
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    except ValueError:
        return "<a Redis URL that cannot be parsed>"


def connect(url: str) -> Any:
    """A Redis client for `url` (bytes replies): redis://[:PASSWORD@]HOST:PORT/DB, or
    rediss:// for TLS (`?ssl_ca_certs=FILE` to trust a private CA)."""
    import redis

    return redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=10)


# -- scripts (atomic on the server; Redis' own clock, so workers' clocks do not matter) -----

_NOW = "local t = redis.call('TIME'); local now = tonumber(t[1]) + tonumber(t[2]) / 1e6\n"

# KEYS: queue, inflight, leases, sweep hash. ARGV: lease id, lease seconds.
_POP = (
    _NOW
    + """
if redis.call('HGET', KEYS[4], 'state') ~= 'open' then return false end
local top = redis.call('ZPOPMIN', KEYS[1])
if #top == 0 then return false end
local member, score = top[1], top[2]
local sep = string.find(member, '|', 1, true)
local deliveries, payload = 1, member
if sep then
  deliveries = (tonumber(string.sub(member, 1, sep - 1)) or 0) + 1
  payload = string.sub(member, sep + 1)
end
redis.call('HSET', KEYS[2], ARGV[1], deliveries .. '|' .. score .. '|' .. payload)
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[2]), ARGV[1])
return {payload, deliveries}
"""
)

# KEYS: queue, sweep hash. ARGV: score, member. Nothing is queued for a closed sweep (a late
# worker whose lease had expired).
_PUSH = """
if redis.call('HGET', KEYS[2], 'state') ~= 'open' then return 0 end
return redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
"""

# KEYS: inflight, leases, stats. ARGV: lease id, then stat name/increment pairs.
_ACK = """
local done = redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
for i = 2, #ARGV, 2 do redis.call('HINCRBY', KEYS[3], ARGV[i], ARGV[i + 1]) end
return done
"""

# KEYS: leases. ARGV: lease seconds, lease ids.
_RENEW = (
    _NOW
    + """
local renewed = 0
for i = 2, #ARGV do
  renewed = renewed + redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[1]), ARGV[i])
end
return renewed
"""
)

# KEYS: inflight, leases, queue, stats. ARGV: max deliveries, mode (`expired` | `release`),
# lease ids (release mode). Released leases (a worker stopping cleanly) do not count as a
# delivery; expired ones do, and one delivered too often is given up and counted as lost.
_REQUEUE = (
    _NOW
    + """
local ids
if ARGV[2] == 'expired' then
  ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
else
  ids = {}
  for i = 3, #ARGV do ids[#ids + 1] = ARGV[i] end
end
local requeued, lost = 0, 0
for _, id in ipairs(ids) do
  local value = redis.call('HGET', KEYS[1], id)
  redis.call('HDEL', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
  local a = value and string.find(value, '|', 1, true)
  local b = a and string.find(value, '|', a + 1, true)
  local deliveries = a and b and tonumber(string.sub(value, 1, a - 1))
  local score = b and string.sub(value, a + 1, b - 1)
  if value and not (deliveries and tonumber(score)) then
    lost = lost + 1  -- not written by _POP: nothing to put back
  elseif value then
    local payload = string.sub(value, b + 1)
    if ARGV[2] == 'release' then deliveries = deliveries - 1 end
    if deliveries >= tonumber(ARGV[1]) then
      lost = lost + 1
    else
      redis.call('ZADD', KEYS[3], score, deliveries .. '|' .. payload)
      requeued = requeued + 1
    end
  end
end
if lost > 0 then redis.call('HINCRBY', KEYS[4], '"""
    + LOST_STAT
    + """', lost) end
if requeued > 0 and ARGV[2] == 'expired' then
  redis.call('HINCRBY', KEYS[4], '"""
    + REQUEUED_STAT
    + """', requeued)
end
return {requeued, lost}
"""
)

# KEYS: sweep hash, queue, inflight. A consistent snapshot of a sweep's progress.
_PROGRESS = """
return {redis.call('HGET', KEYS[1], 'state') or '', redis.call('HGET', KEYS[1], 'seeded') or '',
        redis.call('ZCARD', KEYS[2]), redis.call('HLEN', KEYS[3])}
"""


@dataclass(frozen=True)
class SweepProgress:
    state: str  # open | closed | "" (unknown sweep)
    seeded: bool  # the start requests are all queued
    queued: int
    in_flight: int

    @property
    def drained(self) -> bool:
        """No request is waiting or being worked on: nothing more can come of this sweep."""
        return self.seeded and self.queued == 0 and self.in_flight == 0


class SweepQueue:
    """The reliable request queue of one sweep, as raw payloads (Scrapy-free)."""

    def __init__(
        self,
        client: Any,
        sweep: str,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        max_deliveries: int = DEFAULT_MAX_DELIVERIES,
    ) -> None:
        self.client = client
        self.sweep = sweep
        self.lease_seconds = lease_seconds
        self.max_deliveries = max_deliveries
        self.keys = {p: sweep_key(sweep, p) for p in ("queue", "inflight", "leases", "stats")}
        self.hash = sweep_key(sweep)
        self._pop = client.register_script(_POP)
        self._push = client.register_script(_PUSH)
        self._ack = client.register_script(_ACK)
        self._renew = client.register_script(_RENEW)
        self._requeue = client.register_script(_REQUEUE)
        self._progress = client.register_script(_PROGRESS)

    def __len__(self) -> int:
        return int(self.client.zcard(self.keys["queue"]))

    def push(self, payload: bytes, priority: int = 0) -> bool:
        """Queue a request (never delivered yet); False once the sweep is closed."""
        member = b"0|" + payload
        return bool(self._push(keys=[self.keys["queue"], self.hash], args=[-priority, member]))

    def pop(self) -> tuple[str, bytes, int] | None:
        """The next request under a new lease: (lease id, payload, deliveries), or None."""
        lease = secrets.token_hex(8)
        found = self._pop(
            keys=[self.keys["queue"], self.keys["inflight"], self.keys["leases"], self.hash],
            args=[lease, self.lease_seconds],
        )
        if not found:
            return None
        return lease, found[0], int(found[1])

    def ack(self, lease: str, stats: dict[str, int] | None = None) -> bool:
        """The leased request is done; adds `stats` to the sweep's in the same step."""
        args: list[Any] = [lease]
        for name, value in (stats or {}).items():
            args += [name, int(value)]
        keys = [self.keys["inflight"], self.keys["leases"], self.keys["stats"]]
        return bool(self._ack(keys=keys, args=args))

    def renew(self, leases: list[str]) -> int:
        """Push the expiry of these leases `lease_seconds` ahead; returns how many exist."""
        if not leases:
            return 0
        return int(self._renew(keys=[self.keys["leases"]], args=[self.lease_seconds, *leases]))

    def requeue_expired(self) -> tuple[int, int]:
        """Put requests whose lease expired back on the queue: (requeued, given up)."""
        return self._requeue_call("expired", [])

    def release(self, leases: list[str]) -> tuple[int, int]:
        """Give back leases not worked on (a worker stopping cleanly)."""
        if not leases:
            return 0, 0
        return self._requeue_call("release", leases)

    def _requeue_call(self, mode: str, leases: list[str]) -> tuple[int, int]:
        keys = [self.keys["inflight"], self.keys["leases"], self.keys["queue"], self.keys["stats"]]
        requeued, lost = self._requeue(keys=keys, args=[self.max_deliveries, mode, *leases])
        return int(requeued), int(lost)

    def add_stats(self, stats: dict[str, int]) -> None:
        if stats:
            with self.client.pipeline(transaction=True) as pipe:
                for name, value in stats.items():
                    pipe.hincrby(self.keys["stats"], name, int(value))
                pipe.execute()

    def progress(self) -> SweepProgress:
        state, seeded, queued, in_flight = self._progress(
            keys=[self.hash, self.keys["queue"], self.keys["inflight"]]
        )
        return SweepProgress(_text(state), _text(seeded) == "1", int(queued), int(in_flight))


# -- the sweep registry -------------------------------------------------------------------


def new_sweep_id(source: str) -> str:
    """`<source>-<UTC time>-<random>`: sorts by time, names its source, never reused."""
    return f"{source}-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


def start_sweep(
    client: Any,
    signer: Signer,
    source: str,
    kind: str,
    url: str | None,
    removed_after_sweeps: int = 1,
    list_may_shrink: bool = False,
) -> str:
    """Register a new sweep of `source`, signed; workers pick it up and the writer opens its
    run."""
    sweep = new_sweep_id(source)
    if not valid_sweep_id(sweep):
        raise ValueError(f"source name {source!r} cannot name a sweep")
    now = time.time()
    record = {
        "source": source,
        "kind": kind,
        "url": url or "",
        "removed_after_sweeps": str(int(removed_after_sweeps)),
        "list_may_shrink": str(int(list_may_shrink)),
        "created": repr(now),
    }
    with client.pipeline(transaction=True) as pipe:
        pipe.hset(
            sweep_key(sweep),
            mapping={**record, "sig": _record_mac(signer, sweep, record), "state": "open"},
        )
        pipe.zadd(ACTIVE_SWEEPS, {sweep: now})
        pipe.execute()
    return sweep


def valid_sweep_id(sweep: str) -> bool:
    """Whether `sweep` has the shape of a sweep id (it names keys and log files)."""
    return bool(_SWEEP_ID.match(sweep)) and ".." not in sweep


def _record_mac(signer: Signer, sweep: str, record: dict[str, str]) -> str:
    return signer.mac("sweep", sweep, _record_payload(record))


def verified_sweep_info(client: Any, signer: Signer, sweep: str) -> dict[str, str] | None:
    """A sweep's record when its signature holds (its run_id only when signed too); None for
    an unknown sweep or one registered without the key (logged, never acted on)."""
    info = sweep_info(client, sweep) if valid_sweep_id(sweep) else {}
    if not info:
        return None
    if not signer.valid("sweep", sweep, _record_payload(info), info.get("sig") or None):
        log.warning("sweep %.80r: its record is not signed with this installation's key", sweep)
        return None
    if info.get("run_id") and not signer.valid(
        "run", sweep, info["run_id"].encode(), info.get("run_sig") or None
    ):
        log.warning("sweep %s: its run_id is not signed; ignored", sweep)
        del info["run_id"]
    return info


def _record_payload(info: dict[str, str]) -> bytes:
    return json.dumps([info.get(name, "") for name in SIGNED_FIELDS]).encode()


def record_run_id(client: Any, signer: Signer, sweep: str, run_id: int) -> None:
    """The store's run of a sweep, signed (a writer that restarts resumes it)."""
    text = str(int(run_id))
    client.hset(
        sweep_key(sweep),
        mapping={"run_id": text, "run_sig": signer.mac("run", sweep, text.encode())},
    )


def open_sweeps(client: Any) -> list[str]:
    """Sweeps not closed yet, oldest first."""
    return [_text(s) for s in client.zrange(ACTIVE_SWEEPS, 0, -1)]


def sweep_info(client: Any, sweep: str) -> dict[str, str]:
    """A sweep's record (empty for an unknown sweep)."""
    return {_text(k): _text(v) for k, v in client.hgetall(sweep_key(sweep)).items()}


def sweep_stats(client: Any, sweep: str) -> dict[str, Any]:
    """The stats the workers summed for a sweep (numbers as int, the rest as text)."""
    stats: dict[str, Any] = {}
    for key, value in client.hgetall(sweep_key(sweep, "stats")).items():
        text = _text(value)
        try:
            stats[_text(key)] = int(text)
        except ValueError:
            stats[_text(key)] = text
    return stats


def claim_seeding(client: Any, sweep: str, worker: str, seconds: float) -> bool:
    """Whether `worker` sends this sweep's start requests (one worker does, at a time)."""
    if _text(client.hget(sweep_key(sweep), "seeded")) == "1":
        return False
    return bool(client.set(sweep_key(sweep, "seeding"), worker, nx=True, ex=max(1, int(seconds))))


def seeding_claimed(client: Any, sweep: str) -> bool:
    return bool(client.exists(sweep_key(sweep, "seeding")))


def mark_seeded(client: Any, sweep: str) -> None:
    client.hset(sweep_key(sweep), "seeded", "1")


def close_sweep(client: Any, sweep: str, outcome: dict[str, Any]) -> None:
    """Record a sweep's outcome and drop its work keys; the record itself expires later."""
    fields: dict[str, Any] = {
        k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in outcome.items()
    }
    fields = {k: "" if v is None else v for k, v in fields.items()}
    with client.pipeline(transaction=True) as pipe:
        pipe.hset(sweep_key(sweep), mapping={**fields, "state": "closed", "closed": time.time()})
        pipe.zrem(ACTIVE_SWEEPS, sweep)
        for part in ("queue", "inflight", "leases", "dupefilter", "seeding", "written"):
            pipe.delete(sweep_key(sweep, part))
        for kept in (None, "stats"):
            pipe.expire(sweep_key(sweep, kept), CLOSED_TTL_SECONDS)
        pipe.execute()


# -- items on the stream ------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """Dataclasses (MatchResult, PiiHit) as dicts, bytes as base64, for JSON."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return {"__bytes__": base64.b64encode(value).decode("ascii")}
    return value


def _restore(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__bytes__"}:
            return base64.b64decode(value["__bytes__"])
        return {k: _restore(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore(v) for v in value]
    return value


def encode_item(signer: Signer, sweep: str, item: dict[str, Any]) -> dict[str, str]:
    """The stream entry for one finished item (already masked and matched), signed."""
    payload = json.dumps(_plain(item), ensure_ascii=False)
    return {
        "sweep": sweep,
        "site_id": str(item.get("site_id")),
        "item": payload,
        "sig": signer.mac("item", sweep, payload.encode()),
    }


def decode_item(signer: Signer, fields: dict[Any, Any]) -> tuple[str, dict[str, Any]]:
    """(sweep id, item dict) from a stream entry; BadSignature for an entry that is not
    signed with this installation's key or is malformed (nothing of it is decoded then)."""
    raw = {_text(k): v for k, v in fields.items()}
    sweep, payload, mac = _text(raw.get("sweep")), raw.get("item"), raw.get("sig")
    if isinstance(payload, str):
        payload = payload.encode()
    if not isinstance(payload, bytes) or not signer.valid("item", sweep, payload, mac):
        raise BadSignature("an item not signed with this installation's key")
    try:
        item = _restore(json.loads(payload))
    except (ValueError, TypeError) as exc:  # signed by us: a bug, not an attack
        raise BadSignature(f"a signed item that is not JSON: {exc}") from None
    if not isinstance(item, dict) or item.get("site_id") is None:
        raise BadSignature("a signed item without a site_id")
    return sweep, item


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
