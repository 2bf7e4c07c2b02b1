"""Rendering pages in Chromium: what the browser need not download. (Screenshots for
evidence, with personal numbers masked: spiders/screenshots.py.)"""

from __future__ import annotations

from typing import Any

# Listings are text: images, media and fonts only cost time and bandwidth.
SKIPPED_RESOURCES = frozenset({"image", "media", "font"})


def skip_heavy_resources(request: Any) -> bool:
    """PLAYWRIGHT_ABORT_REQUEST: abort a browser request for an image, video or font."""
    return request.resource_type in SKIPPED_RESOURCES
