"""A deliberately naive, per-customer Python reading of SPEC §3, to check the SQL models against.

It shares no code with the package: plain loops over plain dicts, written from the spec's wording.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

STATUSES = ("new", "reactivated", "lost_lapsed", "lost_closed", "retained", "in_and_out")


def reference_scorecards(
    customers, orders, start, end, window=365, threshold=Decimal("0.1"), quantiles=(Decimal("0.5"), Decimal("0.8")), top_n=10
):
    """customers: {id: {"segment", "closed_at"}}; orders: [{"customer_id", "order_date", "amount", "cancelled"}]."""
    by_customer = defaultdict(list)
    for order in orders:
        if not order["cancelled"]:
            by_customer[order["customer_id"]].append(order)

    def closed(c, d):
        closed_at = customers[c]["closed_at"]
        if closed_at is None or not closed_at < d:
            return False
        return not any(o["amount"] > 0 and closed_at < o["order_date"] < d for o in by_customer[c])

    def rr(c, d):
        if closed(c, d):
            return Decimal("0")
        return sum((o["amount"] for o in by_customer[c] if d - timedelta(days=window) <= o["order_date"] < d), Decimal("0"))

    def purchases(c, d):
        return sum(1 for o in by_customer[c] if o["amount"] > 0 and d - timedelta(days=window) <= o["order_date"] < d)

    def first_order(c):
        dates = [o["order_date"] for o in by_customer[c] if o["amount"] > 0]
        return min(dates) if dates else None

    info = {}
    for c in customers:
        rs, re_ = rr(c, start), rr(c, end)
        in_s, in_e = rs > 0, re_ > 0
        bought = any(o["amount"] > 0 and start <= o["order_date"] < end for o in by_customer[c])
        if in_s and in_e:
            status = "retained"
        elif in_s:
            status = "lost_closed" if closed(c, end) else "lost_lapsed"
        elif in_e:
            fo = first_order(c)
            status = "new" if fo is not None and start <= fo < end else "reactivated"
        elif bought:
            status = "in_and_out"
        else:
            status = None
        info[c] = {"rs": rs, "re": re_, "in_s": in_s, "in_e": in_e, "status": status,
                   "less_often": purchases(c, end) < purchases(c, start)}  # fmt: skip

    scopes = {None: list(customers)}
    for c, row in customers.items():
        scopes.setdefault(row["segment"] or "Unassigned", []).append(c)

    results = {}
    for scope, members in scopes.items():
        m = [info[c] | {"id": c} for c in members]
        S = [x for x in m if x["in_s"]]
        E = [x for x in m if x["in_e"]]
        counts = {s: sum(1 for x in m if x["status"] == s) for s in STATUSES}
        retained = [x for x in m if x["status"] == "retained"]
        delta = lambda x: x["re"] - x["rs"]
        grew = [x for x in retained if delta(x) > threshold * x["rs"]]
        declined = [x for x in retained if delta(x) < -threshold * x["rs"]]
        basis = sorted(x["rs"] for x in S) if S else sorted(x["re"] for x in E)
        tiers = None
        if basis:
            tiers = tuple(basis[max(1, math.ceil(q * len(basis))) - 1] for q in quantiles)

        def tier(value, tiers=tiers):
            return "top" if value >= tiers[1] else "core" if value >= tiers[0] else "base"

        migration = defaultdict(lambda: [0, Decimal("0")])
        for x in m:
            if not (x["in_s"] or x["in_e"]):
                continue
            source = x["status"] if x["status"] in ("new", "reactivated") else tier(x["rs"])
            target = tier(x["re"]) if x["in_e"] else "lost"
            migration[(source, target)][0] += 1
            migration[(source, target)][1] += x["re"] if x["in_e"] else x["rs"]
        lost = [x for x in m if x["status"] in ("lost_lapsed", "lost_closed")]
        results[scope] = {
            "customers": {
                "start": len(S), "end": len(E), "new": counts["new"], "reactivated": counts["reactivated"],
                "lost": len(lost), "lost_lapsed": counts["lost_lapsed"], "lost_closed": counts["lost_closed"],
                "retained": len(retained), "grew": len(grew), "declined": len(declined),
                "stable": len(retained) - len(grew) - len(declined),
                "ordering_less_often": sum(1 for x in retained if x["less_often"]),
                "in_and_out": counts["in_and_out"],
            },
            "value": {
                "start": sum((x["rs"] for x in S), Decimal("0")),
                "end": sum((x["re"] for x in E), Decimal("0")),
                "new": sum((x["re"] for x in m if x["status"] == "new"), Decimal("0")),
                "reactivated": sum((x["re"] for x in m if x["status"] == "reactivated"), Decimal("0")),
                "expansion": sum((delta(x) for x in retained if delta(x) > 0), Decimal("0")),
                "contraction": sum((-delta(x) for x in retained if delta(x) < 0), Decimal("0")),
                "lost": sum((x["rs"] for x in lost), Decimal("0")),
            },
            "tiers": tiers,
            "migration": {key: tuple(value) for key, value in migration.items()},
            "top_lost": [x["id"] for x in sorted(lost, key=lambda x: (-x["rs"], x["id"]))[:top_n]],
            "top_decliners": [x["id"] for x in sorted(declined, key=lambda x: (delta(x), x["id"]))[:top_n]],
        }  # fmt: skip
    return results


def parse_day(text: str) -> date:
    return date.fromisoformat(text)
