"""Reposted offers: the same listing text on another source or by another seller.

Each matched listing version gets a MinHash signature over character 3-grams of its normalised
title and text: datasketch's MinHash (scheme affine32, seed 1, 64 permutations, sha1_hash32),
computed here in one numpy step. datasketch itself is not imported at run time: importing it
loads scipy (about 0.8 s for every crawl process) and its per-call set-up costs ten times the
hashing; tests/test_reposts.py checks the values equal datasketch's bit for bit, so signatures
stored by earlier versions stay comparable. Signatures are cut into LSH bands stored in SQLite
(`lsh_bands`), so candidates are found with an indexed lookup however large the store grows;
candidates are then confirmed by their estimated Jaccard similarity. Near-duplicates are linked
into one cluster (`listings.cluster_id`, the smallest listing id in it).
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from monitor.store import Store

NUM_PERM = 64
BANDS = 16  # 16 bands of 4 rows: pairs above ~0.5 Jaccard become candidates
ROWS = NUM_PERM // BANDS
# Estimated Jaccard at which two listings are the same offer: a copied offer with a new
# title, price and contact still shares about half of its 3-grams.
DEFAULT_THRESHOLD = 0.5
# A changed listing whose signature is this close to the one it was linked with keeps its
# links (a new price or contact in the same text): they follow the text it was linked with
# until that drifts by more than this.
SAME_TEXT = 0.7
_NOISE = re.compile(r"[\W_]+", re.UNICODE)


@dataclass(frozen=True)
class Signature:
    values: np.ndarray  # uint32[NUM_PERM]

    def to_bytes(self) -> bytes:
        return self.values.astype("<u4").tobytes()

    @classmethod
    def from_bytes(cls, blob: bytes) -> Signature:
        return cls(np.frombuffer(blob, dtype="<u4"))

    def bands(self) -> list[tuple[int, int]]:
        """(band number, band key) pairs for the LSH index (made once: a sweep reads them
        ahead for its batch, then again to look up and save them)."""
        made: list[tuple[int, int]] | None = self.__dict__.get("_bands")
        if made is None:
            raw = self.values.astype("<u4").tobytes()
            width = ROWS * 4
            made = [
                (band, _band_key(raw[band * width : (band + 1) * width])) for band in range(BANDS)
            ]
            object.__setattr__(self, "_bands", made)  # frozen: a cache, not a field
        return made

    def similarity(self, other: Signature) -> float:
        """Estimated Jaccard similarity of the two shingle sets."""
        return float(np.mean(self.values == other.values))


def _band_key(chunk: bytes) -> int:
    """A band's rows as one signed 64-bit key (SQLite's INTEGER)."""
    return int.from_bytes(hashlib.blake2b(chunk, digest_size=8).digest(), "little", signed=True)


class BandFilter:
    """A Bloom filter of the band keys `lsh_bands` holds: most of a new listing's 16 keys are
    in no stored listing, and the filter says so without a look-up in the big table (each a
    descent to a random leaf of it). No false negatives: every key added is reported as
    maybe held; at capacity, about one absent key in 40 is too.

    Blocked: a key's FILTER_HASHES bits all lie in one 64-byte block (one cache line to
    read). The keys are already uniform 64-bit hashes (`_band_key`): the block is taken from
    their high half, the bits in it from their low half by double hashing."""

    def __init__(
        self,
        bits: bytes | bytearray,
        capacity: int,
        *,
        reader: Callable[[list[int]], bytes] | None = None,
    ) -> None:
        self.capacity = capacity  # keys it was sized for: past them, it is rebuilt larger
        self.size = capacity * FILTER_BITS_PER_KEY // 8  # bytes
        self.words = np.frombuffer(bits, dtype="<u8") if bits else None
        # Reads the given blocks, when the bits are not in memory (tens of MB, in the store).
        self.reader = reader

    @classmethod
    def sized_for(cls, keys: int) -> BandFilter:
        """An empty filter for about `keys` keys (a power of two of bytes, at least 4 KB)."""
        size = 4096
        while size * 8 < keys * FILTER_BITS_PER_KEY:
            size *= 2
        return cls(bytearray(size), size * 8 // FILTER_BITS_PER_KEY)

    def _split(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each key's block (n), and the word (0-7) and bit (0-63) of each of its bits in
        that block (FILTER_HASHES x n)."""
        values = keys.astype(np.int64).view(np.uint64)
        block = (values >> np.uint64(32)) & np.uint64(self.size // FILTER_BLOCK - 1)
        low = values & np.uint64(0xFFFFFFFF)
        step = (low >> np.uint64(9)) | np.uint64(1)
        rounds = np.arange(FILTER_HASHES, dtype=np.uint64).reshape(-1, 1)
        position = (low + rounds * step) & np.uint64(FILTER_BLOCK * 8 - 1)
        return block.astype(np.intp), (position >> np.uint64(6)).astype(np.intp), position & 63

    def add(self, keys: Iterable[int]) -> None:
        """Set the bits of these keys (in a filter made writable: sized_for, a bytearray)."""
        assert self.words is not None
        found = np.fromiter(keys, dtype=np.int64)
        # In slices: a fold's 500,000 keys at once took 120 MB of temporary arrays.
        for start in range(0, len(found), 1 << 16):
            block, word, bit = self._split(found[start : start + (1 << 16)])
            np.bitwise_or.at(self.words, (block * 8 + word).ravel(), (np.uint64(1) << bit).ravel())

    def maybe_held(self, keys: list[int]) -> list[bool]:
        """For each key: might `lsh_bands` hold it (False: it certainly does not)."""
        if not keys:
            return []
        block, word, bit = self._split(np.array(keys, dtype=np.int64))
        if self.words is not None:
            rows = self.words.reshape(-1, 8)[block]
        else:
            assert self.reader is not None
            rows = np.frombuffer(self.reader(block.tolist()), dtype="<u8").reshape(-1, 8)
        chosen = np.take_along_axis(rows, word.T, axis=1) >> bit.T.astype(np.uint64)
        held: list[bool] = np.asarray((chosen & np.uint64(1)).all(axis=1)).tolist()
        return held

    def to_bytes(self) -> bytes:
        assert self.words is not None
        return self.words.tobytes()

    def buffer(self) -> memoryview:
        """The bits without a copy (SQLite binds it as a BLOB)."""
        assert self.words is not None
        return self.words.data.cast("B")


FILTER_BITS_PER_KEY = 8
FILTER_HASHES = 5  # with 8 bits a key in 64-byte blocks: about 2.5% of absent keys pass
FILTER_BLOCK = 64  # bytes


def shingles(text: str, size: int = 3) -> set[bytes]:
    """Character n-grams of the text with case, width and punctuation folded away."""
    folded = _NOISE.sub("", unicodedata.normalize("NFKC", text).lower())
    if len(folded) <= size:
        return {folded.encode()} if folded else set()
    return {folded[i : i + size].encode() for i in range(len(folded) - size + 1)}


def signature(title: str, text: str) -> Signature | None:
    """The MinHash signature of a listing, or None when it has too little text to compare."""
    grams = shingles(f"{title} {text}")
    if len(grams) < 8:
        return None
    return Signature(minhash(grams))


def minhash(grams: set[bytes]) -> np.ndarray:
    """datasketch's `MinHash(num_perm=NUM_PERM, seed=1).update_batch(grams)` hash values
    (scheme affine32): each gram's sha1_hash32, premixed by the MurmurHash3 finalizer, then
    a * h + b mod 2^32 for every permutation, and the minimum per permutation. (uint32 array
    arithmetic wraps around, which is the modulo; numpy does not warn for arrays.)"""
    a, b = _permutations()
    sha1 = hashlib.sha1
    digests = b"".join([sha1(gram).digest()[:4] for gram in grams])
    hashes = _fmix32(np.frombuffer(digests, dtype="<u4").astype(np.uint32))
    return (hashes.reshape(-1, 1) * a + b).min(axis=0)


def _fmix32(values: np.ndarray) -> np.ndarray:
    """The MurmurHash3 32-bit finalizer (datasketch's premix for scheme affine32)."""
    values = values ^ (values >> 16)
    values = values * _FMIX_M1
    values = values ^ (values >> 13)
    values = values * _FMIX_M2
    return values ^ (values >> 16)


_FMIX_M1 = np.uint32(0x85EBCA6B)
_FMIX_M2 = np.uint32(0xC2B2AE35)


@functools.cache
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    """datasketch's affine32 permutations for seed 1: odd multipliers a, offsets b. They are
    `RandomState(1)`'s first draws (a = 2 * randint(0, 2^31, 64) + 1, then b = randint(0,
    2^32, 64)), written out: importing numpy.random took 4-9 ms, a tenth of a sweep of a few
    changed listings (tests/test_reposts.py checks them against datasketch's)."""
    a = np.frombuffer(bytes.fromhex(_PERMUTATION_A), dtype="<u4").astype(np.uint32)
    b = np.frombuffer(bytes.fromhex(_PERMUTATION_B), dtype="<u4").astype(np.uint32)
    return a, b


_PERMUTATION_A = (
    "4be883d5d7018ffe195fce70912878ddfffd0e00138799419755cb9a0b3d82ff9f96234b81a7e078"
    "2101472f03a10ccb997f5d5f8f3c9cc6db55edb0f9f3e8560d1b25cb33fafede65c9df1329aa4fb1"
    "fda9a0d6cb6265a02517d55ea993910c17f7ad68f9410ce3d59b98c139258b753bbf050e1db39e11"
    "6584475789d4f2d3aff9a8d5afbf16ead3970c1ee38584dcefcbe047bd5bd5e0c18e6d65ad08898e"
    "1b31fb99d3af936e13fbbfef0f08039b7f2279a07b96832f2d1c7862734a4b090314b6c001efe3ba"
    "79e209caa3f185a811ea8a2bb1c5c1a81bfdfe13e734cd8b5f03f456d51f551ef3e49bc191734f57"
    "3d845a328f48a62f076b9bd78d0be357"
)
_PERMUTATION_B = (
    "953f38f531ee6a6939857d8803b29232c4db1eb1182b254af1a1c5502bfc61244c86beaf1a4c87c8"
    "3407aad550259c696d8aae047373bf08297509c0d26dc09f0f0026fd406c1fa9c4c887bf19306a4c"
    "6f2dcb47e2de3572d7350eca8727dd381a056d1a99fec7126826a9721604207809b799e8c3be9e18"
    "e74b2a4b7e4443e717a5ab497ded961e648d49219b405986a53bf50439516815532ac8ada66cb7ea"
    "88422d36202513e9a2ddfa430aaf864c17bdd77d8f869a95ef2aa90d579cdf90195ff992c70f2b9d"
    "f30090255c85dff44abadc96be84cf422e5d23b3a0d3233bd896321a97149088b792ff6941252ff3"
    "7135c4b14d27397e03a7076a80cb648a"
)


def link_reposts(
    store: Store,
    listing_id: int,
    version_id: int,
    state: dict[str, Any],
    source: str,
    threshold: float = DEFAULT_THRESHOLD,
    *,
    new_listing: bool = False,
    signed: tuple[Signature | None] | None = None,
) -> list[dict[str, Any]]:
    """Index a matched listing's signature and link it with its near-duplicates (inside the
    caller's transaction). Returns the duplicates on another source or by another seller:
    the ones that make this a repost. `new_listing`: its first version (no saved signature
    to read); `signed`: (its signature or None), when the caller has made it already."""
    title, text = state.get("title") or "", state.get("text") or ""
    previous = None
    if not new_listing:
        saved = store.clusters.saved_signature_and_text(listing_id)
        if saved is not None:
            previous, saved_title, saved_text = saved
            if (saved_title or "", saved_text or "") == (title, text):
                # A new price or seller, not a new text: its signature would be the one it
                # was linked with (below: still the offer it was linked as).
                return []
    if signed is not None:
        (found,) = signed
    else:
        found = signature(title, text)
    if found is None:
        return []
    if previous is not None and found.similarity(Signature.from_bytes(previous)) >= SAME_TEXT:
        # A new price or contact in the same text: still the offer it was linked as.
        return []
    bands = found.bands()
    categories = _categories(state.get("categories"))
    candidates = []
    for candidate in store.clusters.signature_candidates(listing_id, bands):
        their_categories = _categories(candidate["categories"])
        if categories and their_categories and not categories & their_categories:
            continue  # same template, different goods: not the same offer
        candidates.append(candidate)
    duplicates = []
    if candidates:
        # All candidates at once: one array comparison instead of one per candidate.
        theirs = np.frombuffer(b"".join(c["signature"] for c in candidates), dtype="<u4")
        agree = (theirs.reshape(len(candidates), NUM_PERM) == found.values).mean(axis=1)
        duplicates = [c for c, share in zip(candidates, agree, strict=True) if share >= threshold]
    old_bands = Signature.from_bytes(previous).bands() if previous is not None else []
    store.clusters.save_signature(listing_id, version_id, found.to_bytes(), bands, old_bands)
    if not duplicates:
        return []
    store.clusters.join_cluster(
        [listing_id, *(d["id"] for d in duplicates)],
        [d["cluster_id"] for d in duplicates if d["cluster_id"]],
        # Duplicates already in a cluster move with it: only the others are written.
        clustered={d["id"] for d in duplicates if d["cluster_id"]},
    )
    return [
        d
        for d in duplicates
        if d["source"] != source or (d["seller"] or "") != (state.get("seller") or "")
    ]


@functools.lru_cache(maxsize=1024)
def _categories(encoded: str | None) -> frozenset[str]:
    """A categories JSON list as a set; listings share a handful of such lists."""
    import json

    return frozenset(json.loads(encoded or "[]"))
