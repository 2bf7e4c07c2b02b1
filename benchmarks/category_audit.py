"""Audit the category labels of the labelled sets against the labelling guide of
docs/matching.md ("Labelling categories"): print every offer whose labels break one of the
guide's checkable rules. The rules are cues read from the text, so a line printed here is a
label to look at, not always a wrong one.

    python -m benchmarks.category_audit [FILE ...]   # default: train.jsonl and dev.jsonl
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

EVAL = Path(__file__).resolve().parent.parent / "tests" / "data" / "eval"
DEFAULT_FILES = (EVAL / "train.jsonl", EVAL / "dev.jsonl")

# A record with a name and an ID number is citizen-identity data, whatever sector it comes from.
NAME_AND_ID = (
    re.compile(r"姓名|名字|真实姓名|\bnames?\b", re.I),
    re.compile(r"身份证|身份號|身分證|sfz|ID numbers?", re.I),
)
# A look-up keyed on a sector's identifier stays in that sector, whatever it returns.
LOOKUP = re.compile(r"查|lookup", re.I)
# Collection to order: the seller scrapes for the buyer.
SCRAPING = re.compile(r"采集|爬取|爬虫|代爬|抓取|代下载|scrap|crawl|harvest", re.I)
# A kit: ID card, bank card, SIM and USB key sold together.
KIT = re.compile(r"[四五45④⑤肆伍]件套|sjt|sijiantao|bank kits?|SIM \+ ID kits?", re.I)
# Insider access: the seller is, or rents the account of, someone inside an organisation.
INSIDER = re.compile(r"内部|內部|内鬼|员工账号|员工号|后台账号|内网|insider", re.I)
# Access from inside without the word: system, back-office or staff accounts, someone inside.
INSIDE_ACCESS = re.compile(
    r"系统|系統|后台|工号|账号出租|子账号|员工|員工|通讯录|通訊錄|名录|有人|柜|公司|对公|"
    r"admin|panel|creds|login|staff|employee",
    re.I,
)
NOT_INSIDER = re.compile(r"非内部|不是内部")
# The phone is the product: call records, location, cards, codes, numbers as such.
TELECOM_PRODUCT = re.compile(
    r"通话|通讯记录|话单|定位|手机卡|电话卡|物联网卡|流量卡|实名卡|卡商|接码|验证码|短信|号段|"
    r"空号|复制手机卡|改号|显号|基站|运营商|机主|相册|通讯录|手机号码?(?:库|包|段|数据)|"
    r"門號|簡訊|通聯|号码对应|手机号实名|手机号采集|手机号抓取|"
    r"phone numbers? (?:list|database)|SIM|SMS|CDR|call (?:logs|records)",
    re.I,
)
TRAFFIC = re.compile(
    r"刷单|补单|粉丝|涨粉|点赞|播放量|观看|在线人数|刷量|好评|互动软件|followers|likes|views", re.I
)
ACCOUNTS = re.compile(r"账号|帐号|小号|老号|白号|养号|号商|accounts?\b", re.I)


def _offers(path: Path) -> list[dict[str, object]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [r for r in rows if r.get("label") == 1]


def _text(row: dict[str, object]) -> str:
    return f"{row.get('title', '')} {row.get('text', '')}"


def name_and_id_adds_identity(text: str, cats: set[str]) -> str | None:
    named = all(p.search(text) for p in NAME_AND_ID)
    if named and not LOOKUP.search(text) and "identity" not in cats:
        return "name + ID number listed, no identity"
    return None


def scraping_to_order(text: str, cats: set[str]) -> str | None:
    if SCRAPING.search(text) and "scraping" not in cats:
        return "collection to order, no scraping"
    if (
        "scraping" in cats
        and not SCRAPING.search(text)
        and not re.search(r"爬|采|定制|接口|bot|crawler", text, re.I)
    ):
        return "scraping without collection"
    return None


def insider_adds_corporate(text: str, cats: set[str]) -> str | None:
    insider = INSIDER.search(text) and not NOT_INSIDER.search(text)
    if insider and "corporate" not in cats:
        return "insider access, no corporate"
    if "corporate" in cats and not insider and not INSIDE_ACCESS.search(text):
        return "corporate without insider or staff"
    return None


def telecom_is_the_product(text: str, cats: set[str]) -> str | None:
    if "telecom" in cats and not TELECOM_PRODUCT.search(text) and len(cats) > 1:
        return "telecom beside a sector, phone only a field"
    return None


def traffic_and_accounts(text: str, cats: set[str]) -> str | None:
    if TRAFFIC.search(text) and "traffic" not in cats and not cats & {"platform", "scraping"}:
        return "traffic cue, no traffic"
    return None


def kit_is_identity(text: str, cats: set[str]) -> str | None:
    if (
        KIT.search(text)
        and cats != {"identity"}
        and not re.search(r"[1-9]⃣|菜单|menu|price list", text, re.I)
    ):
        return "kit not identity alone"
    return None


def insurance_is_vehicle(text: str, cats: set[str]) -> str | None:
    insurance = re.search(r"车险|car insurance", text, re.I) and "finance" in cats
    if insurance and not re.search(r"贷|信用卡|银行|股|理财|loan|bank|card", text, re.I):
        return "car insurance labelled finance"
    return None


RULES: tuple[Callable[[str, set[str]], str | None], ...] = (
    name_and_id_adds_identity,
    scraping_to_order,
    insider_adds_corporate,
    telecom_is_the_product,
    traffic_and_accounts,
    kit_is_identity,
    insurance_is_vehicle,
)


def audit(paths: list[Path]) -> Counter[str]:
    kinds: Counter[str] = Counter()
    for path in paths:
        for row in _offers(path):
            cats = set(row.get("categories") or [])  # type: ignore[call-overload]
            text = _text(row)
            for rule in RULES:
                finding = rule(text, cats)
                if finding:
                    kinds[finding] += 1
                    print(f"{path.name}:{row['id']}\t{finding}\t{sorted(cats)}\t{text[:90]}")
    return kinds


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    kinds = audit([Path(a) for a in args] or list(DEFAULT_FILES))
    for kind, n in kinds.most_common():
        print(f"{n:4d}  {kind}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
