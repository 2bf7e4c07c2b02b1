"""The labelling convention of docs/matching.md ("Labelling categories") as rules over what the
matcher already found: the category models learn the wording of the texts they were trained
on; these rules hold whoever wrote the listing.

Run only when a listing alerts, on its features (the extracted fields, the rules' sectors)
and its normalised text: a few regex searches over one short string.

- Insider access written in prose (系统里有人, 我们在医院里有人, 我兄弟在酒店当前台, an inside
  contact, a bank employee) is `corporate`, beside the sector it reaches: the keyword lists
  see 内部, not the sentence.
- A record set whose fields include the name and the ID number is `identity` too, unless it
  is a look-up (车牌查车主 姓名 身份证: the sector's identifier is the key).
- An ID number given as the key of a look-up (查开房 给名字身份证, 把名字和身份证号发我) adds
  no `identity` to the sector looked up, unless identity data is sold too (户籍).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# Where an insider sits: an organisation or its system, never a bare 里 or 所 (群里有人,
# 所有人 are no insiders).
_PLACES = (
    "系统里?|后台|内部|里面|内网|派出所|公安局?|车管所|医院|银行|网点|公司里?|单位|酒店|大厂|"
    "运营商|营业厅|机关|政府"
)
_POSTS = "上班|工作|任职|里面|内部|当前台|当客服|做运维|当差"
# The normalised text has no punctuation left: spans are bounded by length instead.
INSIDER = re.compile(
    rf"(?:{_PLACES})里?(?:这边|那边)?(?:有人|有熟人|有朋友|有兄弟|有关系|有同事|的人|的兄弟|的朋友)"
    rf"|(?:有人|熟人|朋友|兄弟|同事|亲戚)在(?:.{{1,10}}?(?:{_POSTS})|(?:{_PLACES}))"
    rf"|我们?(?:这边)?在.{{1,10}}?(?:{_POSTS})"
    r"|内部人员|内鬼|内部渠道"
    r"|\binsiders?\b|\binside (?:contact|man|source|access)|\bemployees?\b"
)
LOOKUP = re.compile(r"查|\blook ?-?ups?\b|\bcheck")
# The ID number sent to the seller (features.py's fields:id_as_key reads 给/凭/提供 before it).
ID_SENT = re.compile(r"(?:身份证|sfz)号?码?(?:发|给|私)(?:给)?我")


def conventional_categories(
    categories: list[str], values: Mapping[str, float], listing: str
) -> list[str]:
    """`categories` (likeliest first) with the convention's rules applied; `values` are the
    listing's features, `listing` its normalised title and text."""
    chosen = list(categories)
    if "corporate" not in chosen and INSIDER.search(listing):
        chosen.append("corporate")
    if _id_as_key(values, listing):
        if "identity" in chosen and len(chosen) > 1 and "category:identity" not in values:
            chosen.remove("identity")
    elif "fields:name+id" in values and "identity" not in chosen and not LOOKUP.search(listing):
        chosen.append("identity")
    return chosen


def _id_as_key(values: Mapping[str, float], listing: str) -> bool:
    return "fields:id_as_key" in values or bool(ID_SENT.search(listing))


def conventional_labels(
    categories: set[str], values: Mapping[str, float], listing: str
) -> set[str]:
    """A labelled offer's categories as the convention sets them, for labelled sets written
    before it (the project's own listings and demo sites): name + ID number adds `identity`."""
    if (
        "fields:name+id" in values
        and "identity" not in categories
        and not _id_as_key(values, listing)
        and not LOOKUP.search(listing)
    ):
        return categories | {"identity"}
    return categories
