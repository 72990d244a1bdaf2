"""The metrics document (SPEC §5): read from the mart tables, written as JSON and CSV.

Money is Decimal throughout and is written as a JSON number with exactly two decimals.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import io
import json
import math
from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

SCHEMA_VERSION = 1
CENT = Decimal("0.01")

CUSTOMER_KEYS = (
    "start", "new", "reactivated", "lost", "lost_lapsed", "lost_closed", "end", "retained",
    "grew", "stable", "declined", "ordering_less_often", "in_and_out", "gained", "net",
)  # fmt: skip
VALUE_KEYS = ("start", "new", "reactivated", "expansion", "contraction", "lost", "end")
RATE_KEYS = ("logo_retention", "logo_churn", "grr", "nrr", "gain_loss_ratio")
ENGAGEMENT_VALUE_KEYS = ("grew", "stable", "declined", "ordering_less_often")


def money(value) -> Decimal:
    return Decimal(value or 0).quantize(CENT, rounding=ROUND_HALF_UP)


def _rate(value) -> float | None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return float(value)


def _rows(con, sql: str) -> list[dict]:
    """The rows of a query on the engine's connection (scorecard.engines.Engine), as dicts."""
    cursor = con.execute(sql)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _by_scorecard(rows: list[dict]) -> dict[str, list[dict]]:
    grouped = defaultdict(list)
    for row in rows:
        grouped[row["scorecard"]].append(row)
    return grouped


def _profitability(con) -> dict[str, dict]:
    """The profitability key of each scorecard (SPEC §3.8), by scorecard."""
    summaries = {row["scorecard"]: row for row in _rows(con, "select * from mart_profitability")}
    curves = _by_scorecard(_rows(con, "select * from mart_whale_curve order by scorecard, position"))
    kinds = _by_scorecard(_rows(con, "select * from mart_cost_by_kind order by scorecard, amount desc, kind"))
    destroyers = _by_scorecard(_rows(con, "select * from mart_top_destroyers order by scorecard, rank"))
    result = {}
    for key, s in summaries.items():
        result[key] = {
            "customers": int(s["customers"]),
            "revenue": money(s["revenue"]),
            "gross_profit": money(s["gross_profit"]),
            "cost_to_serve": money(s["cost_to_serve"]),
            "total_profit": money(s["total_profit"]),
            "peak": {
                "customers": int(s["peak_customers"]),
                "customers_share": _rate(s["peak_customers_share"]),
                "profit": money(s["peak_profit"]),
                "profit_share": _rate(s["peak_profit_share"]),
            },
            "destroyers": {
                "customers": int(s["destroyers"]),
                "customers_share": _rate(s["destroyers_share"]),
                "profit_eroded": money(s["profit_eroded"]),
            },
            "cost_by_kind": [{"kind": k["kind"], "amount": money(k["amount"]), "customers": int(k["customers"])} for k in kinds[key]],
            "top_destroyers": [
                {
                    "customer_id": d["customer_id"],
                    "name": d["name"],
                    "revenue": money(d["revenue"]),
                    "cost_to_serve": money(d["cost_to_serve"]),
                    "profit": money(d["profit"]),
                    "main_cost_kind": d["main_cost_kind"],
                    "main_cost": money(d["main_cost"]) if d["main_cost"] is not None else None,
                }
                for d in destroyers[key]
            ],  # fmt: skip
            "curve": [
                {
                    "customers_share": _rate(p["customers_share"]),
                    "cumulative_profit": money(p["cumulative_profit"]),
                    "profit_share": _rate(p["profit_share"]),
                }
                for p in curves[key]
            ],  # fmt: skip
        }
    return result


def build_document(con, *, period, data_through: date, settings, quality, source, with_profitability: bool = False) -> dict:
    scorecard_rows = _rows(con, "select * from mart_scorecards order by scope, segment")
    migration = _by_scorecard(_rows(con, "select * from mart_migration order by scorecard, from_order, to_order"))
    within = _by_scorecard(_rows(con, "select * from mart_tier_movement order by scorecard, tier_order"))
    top_lost = _by_scorecard(_rows(con, "select * from mart_top_lost order by scorecard, rank"))
    decliners = _by_scorecard(_rows(con, "select * from mart_top_decliners order by scorecard, rank"))
    highlights = _by_scorecard(_rows(con, "select * from mart_referral_highlights order by scorecard, rank"))
    trend = _by_scorecard(_rows(con, "select * from mart_trend order by scorecard, period_index"))
    profitability = _profitability(con) if with_profitability else {}

    scorecards = []
    for row in scorecard_rows:
        key = row["scorecard"]
        scorecards.append(
            {
                "scope": row["scope"],
                "segment": row["segment"],
                "customers": {name: int(row[f"customers_{name}"]) for name in CUSTOMER_KEYS},
                "value": {name: money(row[f"value_{name}"]) for name in VALUE_KEYS},
                "rates": {name: _rate(row[name]) for name in RATE_KEYS},
                "engagement_value": {name: money(row[f"value_{name}"]) for name in ENGAGEMENT_VALUE_KEYS},
                "tiers": {
                    "core": money(row["core_threshold"]) if row["core_threshold"] is not None else None,
                    "top": money(row["top_threshold"]) if row["top_threshold"] is not None else None,
                },
                "migration": [
                    {"from": cell["from_state"], "to": cell["to_state"], "customers": int(cell["customers"]), "value": money(cell["value"])}
                    for cell in migration[key]
                ],
                "within_tier": [
                    {
                        "tier": t["tier"],
                        "grew": int(t["grew"]),
                        "stable": int(t["stable"]),
                        "declined": int(t["declined"]),
                        "change": money(t["value_change"]),
                    }
                    for t in within[key]
                ],
                "referrals": {
                    "made": int(row["referrals_made"]),
                    "referrers": int(row["referrers"]),
                    "referred_new_customers": int(row["referred_new_customers"]),
                    "referred_new_value": money(row["referred_new_value"]),
                    "highlights": [
                        {
                            "referral_id": h["referral_id"],
                            "referrer_id": h["referrer_id"],
                            "referrer_name": h["referrer_name"],
                            "referred_customer_id": h["referred_customer_id"],
                            "referred_name": h["referred_name"],
                            "referred_at": h["referred_at"].isoformat(),
                            "value": money(h["value"]) if h["value"] is not None else None,
                            "note": h["note"],
                        }
                        for h in highlights[key]
                    ],
                },
                "top_lost": [
                    {"customer_id": r["customer_id"], "name": r["name"], "value": money(r["value"]), "closed": r["status"] == "lost_closed"}
                    for r in top_lost[key]
                ],
                "top_decliners": [
                    {
                        "customer_id": r["customer_id"],
                        "name": r["name"],
                        "change": money(r["change"]),
                        "value_start": money(r["run_rate_start"]),
                        "value_end": money(r["run_rate_end"]),
                    }
                    for r in decliners[key]
                ],  # fmt: skip
                "trend": [
                    {
                        "period": t["period"],
                        "period_start": t["start_date"].isoformat(),
                        "period_end": t["end_date"].isoformat(),
                        "start": int(t["customers_start"]),
                        "new": int(t["customers_new"]),
                        "reactivated": int(t["customers_reactivated"]),
                        "lost": int(t["customers_lost"]),
                        "end": int(t["customers_end"]),
                        "value_start": money(t["value_start"]),
                        "value_new": money(t["value_new"]),
                        "value_reactivated": money(t["value_reactivated"]),
                        "value_expansion": money(t["value_expansion"]),
                        "value_contraction": money(t["value_contraction"]),
                        "value_lost": money(t["value_lost"]),
                        "value_end": money(t["value_end"]),
                    }
                    for t in trend[key]
                ],
                "profitability": profitability.get(key),  # None without a costs table
            }
        )
    # Company first, then segments by name (the query orders scope 'company' before 'segment').
    return {
        "schema_version": SCHEMA_VERSION,
        "period": {
            "label": period.label,
            "kind": period.kind,
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
            "partial": period.is_partial(data_through),
        },
        "data_through": data_through.isoformat(),
        "data_from": None,  # the first order's date, set by the engine
        "source": source.description,
        "sample_data": source.is_sample,
        "settings": settings.as_json() | {"company_name": settings.company_name or source.default_company_name},
        "scorecards": scorecards,
        "data_quality": quality_document(quality, data_through),
        "notes": [],
    }


def quality_document(quality, data_through: date) -> dict:
    return {
        "data_through": data_through.isoformat(),
        "rows_read": dict(quality.rows_read),
        "excluded": [
            {"table": e.table, "reason": e.reason, "rows": e.rows, "amount": money(e.amount) if e.amount is not None else None}
            for e in quality.exclusions
            if e.kind == "excluded"
        ],
        "ignored": [
            {"table": e.table, "reason": e.reason, "rows": e.rows, "amount": money(e.amount) if e.amount is not None else None}
            for e in quality.exclusions
            if e.kind == "ignored"
        ],
    }


def pseudonym(customer_id: str) -> str:
    """A stable stand-in for a customer's name: the same id always gets the same pseudonym."""
    return "Customer " + hashlib.sha256(customer_id.encode("utf-8")).hexdigest()[:6].upper()


def redact(document: dict) -> dict:
    """Replace every customer name by its pseudonym; notes (free text that may name people) are withheld."""
    document = copy.deepcopy(document)
    for card in document["scorecards"]:
        for row in card["top_lost"] + card["top_decliners"]:
            row["name"] = pseudonym(row["customer_id"])
        for highlight in card["referrals"]["highlights"]:
            highlight["referrer_name"] = pseudonym(highlight["referrer_id"])
            if highlight["referred_customer_id"] is not None:
                highlight["referred_name"] = pseudonym(highlight["referred_customer_id"])
            if highlight["note"] is not None:
                highlight["note"] = "(note withheld: --redact)"
        profitability = card.get("profitability") or {}
        for row in profitability.get("top_destroyers", []):
            row["name"] = pseudonym(row["customer_id"])
    return document


# --- serialisation ---------------------------------------------------------------------------------


def _encode(value, indent: int, level: int) -> str:
    pad = "\n" + " " * (indent * (level + 1)) if indent else ""
    end = "\n" + " " * (indent * level) if indent else ""
    sep = ": " if indent else ":"
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{pad}{json.dumps(str(k))}{sep}{_encode(v, indent, level + 1)}" for k, v in value.items()]
        return "{" + ",".join(items) + end + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        items = [f"{pad}{_encode(v, indent, level + 1)}" for v in value]
        return "[" + ",".join(items) + end + "]"
    if isinstance(value, date):
        return json.dumps(value.isoformat())
    return json.dumps(value, ensure_ascii=False)


def to_json(document: dict, indent: int = 2) -> str:
    """JSON with money as numbers carrying exactly two decimals (1234.50, not 1234.5)."""
    return _encode(document, indent, 0) + "\n"


def flatten(scorecard: dict) -> list[tuple[str, object]]:
    """One (metric, value) pair per scalar figure of a scorecard, for the CSV export."""
    pairs: list[tuple[str, object]] = []
    for group in ("customers", "value", "rates", "engagement_value", "tiers"):
        pairs += [(f"{group}.{name}", value) for name, value in scorecard[group].items()]
    for cell in scorecard["migration"]:
        pairs.append((f"migration.{cell['from']}.{cell['to']}.customers", cell["customers"]))
        pairs.append((f"migration.{cell['from']}.{cell['to']}.value", cell["value"]))
    pairs += [(f"referrals.{name}", value) for name, value in scorecard["referrals"].items() if name != "highlights"]
    for name, value in (scorecard.get("profitability") or {}).items():
        if isinstance(value, dict):
            pairs += [(f"profitability.{name}.{key}", inner) for key, inner in value.items()]
        elif not isinstance(value, list):
            pairs.append((f"profitability.{name}", value))
    return pairs


def to_csv(document: dict) -> str:
    """One row per scorecard × metric: period, scope, segment, metric, value."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["period", "scope", "segment", "metric", "value"])
    label = document["period"]["label"]
    for scorecard in document["scorecards"]:
        for metric, value in flatten(scorecard):
            if isinstance(value, Decimal):
                value = f"{value:.2f}"
            elif value is None:
                value = ""
            writer.writerow([label, scorecard["scope"], scorecard["segment"] or "", metric, value])
    return buffer.getvalue()


# --- invariants ------------------------------------------------------------------------------------


def check_invariants(document: dict) -> list[str]:
    """Every identity SPEC §3 promises, checked on the finished document. Returns the violations."""
    problems = []
    cards = document["scorecards"]
    for card in cards:
        name = card["segment"] or "company"
        c, v = card["customers"], card["value"]
        checks = {
            "count bridge: end = start + new + reactivated − lost": c["end"] == c["start"] + c["new"] + c["reactivated"] - c["lost"],
            "lost = lapsed + closed": c["lost"] == c["lost_lapsed"] + c["lost_closed"],
            "retained = start − lost": c["retained"] == c["start"] - c["lost"],
            "grew + stable + declined = retained": c["grew"] + c["stable"] + c["declined"] == c["retained"],
            "gained and net": c["gained"] == c["new"] + c["reactivated"] and c["net"] == c["gained"] - c["lost"],
            "value bridge: end = start + new + reactivated + expansion − contraction − lost": v["end"]
            == v["start"] + v["new"] + v["reactivated"] + v["expansion"] - v["contraction"] - v["lost"],
        }
        cells = card["migration"]
        row = lambda state, cells=cells: sum(x["customers"] for x in cells if x["from"] == state)
        column = lambda state, cells=cells: sum(x["customers"] for x in cells if x["to"] == state)
        column_value = lambda state, cells=cells: sum(x["value"] for x in cells if x["to"] == state)
        checks |= {
            "migration has 20 cells": len(cells) == 20,
            "migration rows: new, reactivated, start tiers": row("new") == c["new"]
            and row("reactivated") == c["reactivated"]
            and row("base") + row("core") + row("top") == c["start"],
            "migration columns: end tiers, lost": column("base") + column("core") + column("top") == c["end"]
            and column("lost") == c["lost"],
            "migration values: end tiers, lost": column_value("base") + column_value("core") + column_value("top") == v["end"]
            and column_value("lost") == v["lost"],
        }
        if card["trend"]:
            last = card["trend"][-1]
            checks["trend ends with the reported period"] = (
                last["period"] == document["period"]["label"]
                and (last["start"], last["new"], last["reactivated"], last["lost"], last["end"])
                == (c["start"], c["new"], c["reactivated"], c["lost"], c["end"])
                and (last["value_start"], last["value_end"]) == (v["start"], v["end"])
            )
        problems += [f"{name}: {rule}" for rule, holds in checks.items() if not holds]

    company = next(card for card in cards if card["scope"] == "company")
    segments = [card for card in cards if card["scope"] == "segment"]
    for group in ("customers", "value"):
        for key, total in company[group].items():
            if sum(card[group][key] for card in segments) != total:
                problems.append(f"segments do not add up to the company: {group}.{key}")
    return problems
