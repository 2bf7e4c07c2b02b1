"""The fields of a listing as the store keeps them: what was seen on its page, what the matcher
and extractor derive from that, and which of them make a new version when they change."""

from __future__ import annotations

# Fields of a listing read from its page as written, and those the matcher and extractor
# derive from them (monitor/store/retrohunt.py may rewrite these).
SEEN_FIELDS = ("title", "text", "seller")
EXTRACTED_FIELDS = (
    "price_text",
    "price",
    "currency",
    "volume",
    "volume_text",
    "contacts",
    "categories",
)
# Fields of a listing whose change makes a new version (and maybe a "changed" alert).
TRACKED_FIELDS = (*SEEN_FIELDS, *EXTRACTED_FIELDS)
