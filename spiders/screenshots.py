"""Screenshots for evidence that never show a personal number in clear.

One PageMethod (`screenshot_methods`), run in Chromium once the page has rendered:
1. the page is stopped: its scripts (CDP `Emulation.setScriptExecutionDisabled`: no timer,
   event handler or MutationObserver of the page runs again, so none can put a number back)
   and its CSS animations (`Animation.setPlaybackRate` 0);
2. the page is read natively (`DOMSnapshot`: text nodes, open and closed shadow roots,
   pseudo-element text, form values, attributes, same-process frames) and masked as one text
   in rendering order (spiders/screenshot_text.py); the changes are written natively
   (`DOM.setNodeValue`, `DOM.setAttributeValue`), form values through an isolated world (the
   page's own JavaScript objects are not used), pseudo-element content through a style sheet
   put first in the element's tree scope, inside a cascade layer declared before any of the
   page's, so its `!important` rules win; canvases and frames Chromium cannot read are hidden;
3. the page is read again as laid out (what will be painted, generated content included):
   if any valid number is still readable, no screenshot is kept (fail closed, logged);
4. the screenshot is taken, then everything is put back and the page runs again, so the HTML
   the spider reads next is the page as served and its numbers get their keyed hashes.

What this does not cover: text inside images (including `data:` URLs and CSS backgrounds),
text drawn by fonts that map letters to digit shapes, and frames in another process (hidden).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from functools import partial
from typing import Any

from spiders.screenshot_text import (
    Changes,
    css_string,
    mask_document,
    read_snapshot,
    readable_numbers,
    tree_scope,
)

log = logging.getLogger(__name__)

MARK = "data-heishi-mask"  # marks an element whose pseudo-element content is overridden
_HIDDEN = "visibility: hidden !important"
_UNREADABLE = frozenset({"CANVAS", "IFRAME", "FRAME", "OBJECT", "EMBED"})
_ADD_STYLE = """function (css) {
  const doc = this.ownerDocument || this;
  const style = doc.createElement("style");
  style.textContent = css;
  const where = this.nodeType === 9 ? (this.head || this.documentElement) : this;
  where.prepend(style);
  return style;
}"""
_SWAP_VALUE = "function (value) { const old = this.value; this.value = value; return old; }"


@dataclass(frozen=True)
class MaskedScreenshot:
    """A PageMethod's result: the picture, or why none was kept."""

    png: bytes | None
    masked: int  # numbers masked in the picture
    refused: str | None = None


def screenshot_methods() -> list[Any]:
    """PageMethods that take a full-page screenshot with personal numbers masked."""
    from scrapy_playwright.page import PageMethod

    return [PageMethod(masked_screenshot)]


def screenshot_of(meta: dict[str, Any]) -> tuple[bytes | None, int]:
    """The screenshot a rendered request took and how many numbers were masked in it."""
    for method in meta.get("playwright_page_methods") or ():
        result = getattr(method, "result", None)
        if isinstance(result, MaskedScreenshot):
            return result.png, result.masked
    return None, 0


async def masked_screenshot(page: Any, keep: tuple[int, int] | None = None) -> MaskedScreenshot:
    """A full-page PNG of `page` with every personal number masked, or none (see above)."""
    from monitor.privacy.pii import mask_keep

    keep = keep or mask_keep()
    try:
        cdp = await page.context.new_cdp_session(page)
    except Exception as exc:  # not Chromium: no way to stop the page or read it natively
        return _refused(page, f"no DevTools session ({type(exc).__name__})")
    resume: list[Any] = []  # what lets the page run again, in reverse order
    undo: list[Any] = []  # what puts the page back, in any order
    try:
        await cdp.send("Emulation.setScriptExecutionDisabled", {"value": True})
        resume.append(partial(cdp.send, "Emulation.setScriptExecutionDisabled", {"value": False}))
        await cdp.send("Animation.enable")
        await cdp.send("Animation.setPlaybackRate", {"playbackRate": 0})
        resume.append(partial(cdp.send, "Animation.setPlaybackRate", {"playbackRate": 1}))
        await cdp.send("DOM.getDocument", {"depth": 0})
        masked = 0
        documents = read_snapshot(await _snapshot(cdp))
        for document in documents:
            changes = mask_document(document, keep)
            masked += len(changes.hits)
            await _apply(cdp, changes, undo)
        if undo:  # something changed: read the page again (most pages quote no number)
            documents = read_snapshot(await _snapshot(cdp))
        left = sum(len(readable_numbers(d, keep)) for d in documents)
        if left:
            return _refused(page, f"{left} number(s) still readable after masking", masked)
        png = await page.screenshot(full_page=True, type="png")
        return MaskedScreenshot(png, masked)
    except Exception as exc:  # the page closed, navigated or answered oddly: no picture
        return _refused(page, f"{type(exc).__name__} while masking")
    finally:
        # The page may be gone by now: then there is nothing to put back.
        await asyncio.gather(*(step() for step in undo), return_exceptions=True)
        for step in reversed(resume):
            try:
                await step()
            except Exception:
                break
        with contextlib.suppress(Exception):
            await cdp.detach()


def _refused(page: Any, why: str, masked: int = 0) -> MaskedScreenshot:
    log.warning("no screenshot kept of %s: %s", getattr(page, "url", "?"), why)
    return MaskedScreenshot(None, masked, why)


async def _snapshot(cdp: Any) -> dict[str, Any]:
    return await cdp.send("DOMSnapshot.captureSnapshot", {"computedStyles": []})


async def _apply(cdp: Any, changes: Changes, undo: list[Any]) -> None:
    """Write `changes` into the page natively, and how to put each back into `undo`."""
    doc = changes.document
    hosts = {node: doc.parents[node] for node in changes.pseudo}
    hidden = [
        node
        for node, name in enumerate(doc.names)
        if name in _UNREADABLE and (name == "CANVAS" or node not in doc.frames)
    ]
    touched = sorted(
        set(changes.texts)
        | {node for node, _ in changes.attributes}
        | set(hosts.values())
        | set(hidden)
    )
    if touched:
        pushed = await cdp.send(
            "DOM.pushNodesByBackendIdsToFrontend",
            {"backendNodeIds": [doc.backend_ids[n] for n in touched]},
        )
        ids = dict(zip(touched, pushed["nodeIds"], strict=True))
    else:
        ids = {}
    # Sent together: Chromium answers each DOM edit only after a style pass.
    edits = [
        _set(cdp, undo, "DOM.setNodeValue", {"nodeId": ids[node]}, value, doc.values[node])
        for node, value in changes.texts.items()
    ]
    for (node, name), value in changes.attributes.items():
        before = dict(doc.attributes[node]).get(name, "")
        edits.append(_set_attribute(cdp, undo, ids[node], name, value, before))
    for node in hidden:
        style = dict(doc.attributes[node]).get("style")
        edits.append(
            _set_attribute(cdp, undo, ids[node], "style", f"{style or ''}; {_HIDDEN}", style)
        )
    await asyncio.gather(*edits)
    if changes.form_values or changes.pseudo:
        world = await cdp.send(
            "Page.createIsolatedWorld", {"frameId": doc.frame_id, "worldName": "heishi-mask"}
        )
        context = world["executionContextId"]
        for node, value in changes.form_values.items():
            element = await _resolve(cdp, doc.backend_ids[node], context)
            await _call(cdp, element, _SWAP_VALUE, value)
            undo.append(partial(_call, cdp, element, _SWAP_VALUE, doc.form_values[node]))
        await _override_pseudo(cdp, changes, hosts, ids, context, undo)


async def _override_pseudo(
    cdp: Any,
    changes: Changes,
    hosts: dict[int, int],
    ids: dict[int, int],
    context: int,
    undo: list[Any],
) -> None:
    doc = changes.document
    rules: dict[int, list[str]] = {}
    marks = []
    for number, (pseudo, content) in enumerate(sorted(changes.pseudo.items())):
        host = hosts[pseudo]
        marks.append(_set_attribute(cdp, undo, ids[host], MARK, str(number), None))
        rule = f'[{MARK}="{number}"]::{doc.pseudo[pseudo]} {{ content: {css_string(content)} !important; }}'
        rules.setdefault(tree_scope(doc, host), []).append(rule)
    await asyncio.gather(*marks)
    for scope, lines in rules.items():
        root = await _resolve(cdp, doc.backend_ids[scope], context)
        css = "@layer heishi-mask {\n" + "\n".join(lines) + "\n}"
        style = await cdp.send(
            "Runtime.callFunctionOn",
            {"objectId": root, "functionDeclaration": _ADD_STYLE, "arguments": [{"value": css}]},
        )
        remove = "function () { this.remove(); }"
        undo.append(partial(_call, cdp, style["result"]["objectId"], remove, None))


def _set(
    cdp: Any, undo: list[Any], method: str, target: dict[str, Any], value: str, before: Any
) -> Awaitable[Any]:
    """The edit (to be awaited); how to undo it goes into `undo`."""
    undo.append(partial(cdp.send, method, {**target, "value": before or ""}))
    return cdp.send(method, {**target, "value": value})


def _set_attribute(
    cdp: Any, undo: list[Any], node_id: int, name: str, value: str, before: str | None
) -> Awaitable[Any]:
    """The edit (to be awaited); how to undo it goes into `undo`."""
    edit = cdp.send("DOM.setAttributeValue", {"nodeId": node_id, "name": name, "value": value})
    if before is None:
        undo.append(partial(cdp.send, "DOM.removeAttribute", {"nodeId": node_id, "name": name}))
    else:
        undo.append(
            partial(
                cdp.send,
                "DOM.setAttributeValue",
                {"nodeId": node_id, "name": name, "value": before},
            )
        )
    return edit


async def _resolve(cdp: Any, backend_id: int, context: int) -> str:
    found = await cdp.send(
        "DOM.resolveNode", {"backendNodeId": backend_id, "executionContextId": context}
    )
    return found["object"]["objectId"]


async def _call(cdp: Any, object_id: str, function: str, value: Any) -> Any:
    arguments = [] if value is None else [{"value": value}]
    return await cdp.send(
        "Runtime.callFunctionOn",
        {"objectId": object_id, "functionDeclaration": function, "arguments": arguments},
    )
