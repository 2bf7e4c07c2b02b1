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
- Communication records (通讯记录, 通话详单, call logs) are `telecom` whoever's they are
  (央企内部员工通讯记录: `corporate` + `telecom`); a staff directory (通讯录) is not.
- Phone cards sold as such (手机卡批量出, 实名卡, SIM cards), not inside a kit or beside a
  bank card, are `accounts` + `telecom`: cards for registering accounts.
- An ID number given as the key of a look-up (查开房 给名字身份证, 把名字和身份证号发我) adds
  no `identity` to the sector looked up, unless identity data is sold too (户籍).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

# Where an insider sits: an organisation or its system, never a bare 里 or 所 (群里有人,
# 所有人 are no insiders).
_PLACES = (
    "系统里?|后台|内部|里面|内网|派出所|公安局?|车管所|教育局|医院|保健院|银行|网点|公司里?|单位|"
    "酒店|大厂|运营商|营业厅|机关|政府|售楼处|物业|4s店"
)
# Who the insider is, beside the seller: someone the seller knows.
_FRIENDS = "熟人|朋友|兄弟|哥们|同学|同事|亲戚|表[姐哥弟妹]|堂[姐哥弟妹]|老婆|老公|媳妇|家里人"
# What they do there: a job (上班, 当前台, 做客服), never a bare 当 or 做 (当天, 做好).
_POSTS = "上班|工作|任职|里面|内部|柜台|前台|当差|[当做](?:前台|客服|销售|管家|运维|保安|会计|文员)"


def _starting(firsts: str, pattern: str) -> re.Pattern[str]:
    """`pattern` behind a look-ahead for the characters its matches start with: the regex
    engine then skips at once the positions no match starts at (a tenth of the time)."""
    return re.compile(f"(?=[{firsts}])(?:{pattern})")


# The normalised text has no punctuation or spaces between Chinese words left: spans are
# bounded by length, and words that run together are kept apart (电话 单位 is no 话单, 手机
# 卡号 no 手机卡).
INSIDER = _starting(
    "系后内里派公车教医保银网单酒大运营机政售物4有熟朋兄哥同亲表堂老媳家我在员iews",
    rf"(?:{_PLACES})里?(?:这边|那边)?(?:有人|有熟人|有朋友|有兄弟|有关系|有同事|的人|的兄弟|的朋友|的同事)"
    rf"|(?:有人|{_FRIENDS})(?:这边)?在(?:.{{1,10}}?(?:{_POSTS})|(?:{_PLACES}))"
    rf"|我们?(?:这边)?在.{{1,10}}?(?:{_POSTS})"
    rf"|在(?:{_PLACES}).{{0,6}}?的(?:{_FRIENDS})"
    r"|内部人员|内鬼|内部渠道|(?:员工|内部|单位)(?:通讯录|花名册|名单)"
    r"|\binsiders?\b|\binside (?:contact|man|source|access)|\bemployees?\b"
    r"|\bworks? (?:at|in|for|the front desk)\b"
    r"|\b(?:staff|employee|internal contact|internal phone) (?:directory|list|roster|sheet|book)",
)
COMMUNICATION_RECORDS = _starting(
    "通话c", r"通讯记录|通话记录|通话详单|(?<!电)话单|call (?:logs|records)|\bcdrs?\b"
)
PHONE_CARDS = _starting(
    "手电实物流注s", r"手机卡(?!号)|电话卡(?!号)|实名卡|物联网?卡|流量卡|注册卡|\bsim(?: card)?s?\b"
)
# A card beside an ID card, a bank card or its USB key is a kit (identity) or card data
# (finance); a SIM swapped or copied is the phone itself (telecom).
NOT_PHONE_CARDS = _starting(
    "四五45sb银身iu盾复内",
    r"[四五45]件|sjt|sijiantao|银行卡|bank|身份证|\bid\b|u盾|盾|swap|复制|insider|内部",
)
LOOKUP = _starting("查lc", r"查|\blook ?-?ups?\b|\bcheck")
# The ID number sent to the seller (features.py's fields:id_as_key reads 给/凭/提供 before it).
ID_SENT = _starting("身s", r"(?:身份证|sfz)号?码?(?:发|给|私)(?:给)?我")


class Convention(NamedTuple):
    """What the convention reads in one listing: categories it always adds, whether the ID
    number is a look-up's key (identity dropped beside another sector unless identity data is
    sold too) and whether the record set lists name and ID number (identity added)."""

    added: tuple[str, ...]
    id_key_only: bool
    name_and_id: bool


def convention_of(values: Mapping[str, float], listing: str) -> Convention:
    """The convention's reading of a listing: `values` its features, `listing` its normalised
    title and text."""
    added = _sold_as_such(listing)
    if INSIDER.search(listing):
        added = (*added, "corporate")
    keyed = _id_as_key(values, listing)
    return Convention(
        added,
        keyed and "category:identity" not in values,
        not keyed and "fields:name+id" in values and not LOOKUP.search(listing),
    )


def apply_convention(categories: list[str], convention: Convention) -> list[str]:
    """`categories` (likeliest first) as the convention sets them."""
    chosen = list(categories)
    for category in convention.added:
        if category not in chosen:
            chosen.append(category)
    if convention.id_key_only and "identity" in chosen and len(chosen) > 1:
        chosen.remove("identity")
    elif convention.name_and_id and "identity" not in chosen:
        chosen.append("identity")
    return chosen


def conventional_categories(
    categories: list[str], values: Mapping[str, float], listing: str
) -> list[str]:
    """`categories` (likeliest first) with the convention's rules applied; `values` are the
    listing's features, `listing` its normalised title and text."""
    return apply_convention(categories, convention_of(values, listing))


def _sold_as_such(listing: str) -> tuple[str, ...]:
    """The categories that communication records and phone cards always are."""
    found: tuple[str, ...] = ()
    if COMMUNICATION_RECORDS.search(listing):
        found = ("telecom",)
    if PHONE_CARDS.search(listing) and not NOT_PHONE_CARDS.search(listing):
        found = ("telecom", "accounts")
    return found


def _id_as_key(values: Mapping[str, float], listing: str) -> bool:
    if "fields:id_as_key" in values:
        return True
    # Only a listing that names an ID number can send one (身份证 is an identity field or datum).
    named = "category:identity:field" in values or "category:identity" in values
    return named and bool(ID_SENT.search(listing))


def conventional_labels(
    categories: set[str], values: Mapping[str, float], listing: str
) -> set[str]:
    """A labelled offer's categories as the convention sets them, for labelled sets written
    before it (the project's own listings and demo sites): name + ID number adds `identity`,
    communication records `telecom`, phone cards `accounts` + `telecom`."""
    categories = categories | set(_sold_as_such(listing))
    if convention_of(values, listing).name_and_id:
        categories = categories | {"identity"}
    return categories
