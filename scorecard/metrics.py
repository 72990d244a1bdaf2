"""The metrics document (SPEC §5): read from the mart tables, written as JSON and CSV.

Money is Decimal throughout and is written as a JSON number with exactly two decimals.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from . import narrative, outlook

SCHEMA_VERSION = 1
CENT = Decimal("0.01")

CUSTOMER_KEYS = (
    "start", "new", "reactivated", "lost", "lost_lapsed", "lost_closed", "end", "retained",
    "grew", "stable", "declined", "ordering_less_often", "in_and_out", "gained", "net",
)  # fmt: skip
VALUE_KEYS = ("start", "new", "reactivated", "expansion", "contraction", "lost", "end")
RATE_KEYS = ("logo_retention", "logo_churn", "grr", "nrr", "gain_loss_ratio")
ENGAGEMENT_VALUE_KEYS = ("grew", "stable", "declined", "ordering_less_often")
# The headline: what the tiles show. value_gained = new + reactivated + expansion; value_lost = lost +
# contraction; both nets are end − start.
HEADLINE_KEYS = ("customers_gained", "customers_lost", "customers_net", "value_gained", "value_lost", "value_net")
GAINED_PARTS = ("new", "reactivated", "expansion")
LOST_PARTS = ("lost_lapsed", "lost_closed", "contraction")
OTHER_SEGMENTS = "Other segments"


def money(value) -> Decimal:
    return Decimal(value or 0).quantize(CENT, rounding=ROUND_HALF_UP) + 0  # + 0: never a "-0.00"


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


def _headline_figures(row: dict) -> dict:
    return {key: money(row[f"headline_{key}"]) if key.startswith("value_") else int(row[f"headline_{key}"]) for key in HEADLINE_KEYS}


def _comparison(row: dict | None) -> dict | None:
    """A comparison period's headline; None when the data does not cover that period."""
    if row is None:
        return None
    return {
        "period": row["period"],
        "start": row["start_date"].isoformat(),
        "end": row["end_date"].isoformat(),
        "short_history": bool(row["short_history"]),
    } | _headline_figures(row)


def _driver(row: dict | None) -> dict | None:
    if row is None or not row["value"] > 0:
        return None
    return {
        "segment": row["segment"],
        "movement": row["movement"],
        "customers": int(row["customers"]),
        "value": money(row["value"]),
        "share": _rate(row["share"]),
    }


def _headline(row: dict, comparisons: dict[str, dict], drivers: dict[str, dict]) -> dict:
    reported = comparisons["reported"]
    return _headline_figures(reported) | {
        "parts": {
            "new": money(row["value_new"]),
            "reactivated": money(row["value_reactivated"]),
            "expansion": money(row["value_expansion"]),
            "lost_lapsed": money(row["value_lost_lapsed"]),
            "lost_closed": money(row["value_lost_closed"]),
            "contraction": money(row["value_contraction"]),
        },
        "previous": _comparison(comparisons.get("previous")),
        "year_ago": _comparison(comparisons.get("year_ago")),
        "gain_driver": _driver(drivers.get("gain")),
        "loss_driver": _driver(drivers.get("loss")),
        "segment_moved_most": None,  # set for the company once every segment is known
    }


def _segment_moved_most(scorecards: list[dict]) -> dict | None:
    """The segment whose run-rate value changed most (either way), for the company's story."""
    segments = [card for card in scorecards if card["scope"] == "segment"]
    if len(segments) < 2:
        return None
    card = min(segments, key=lambda c: (-abs(c["headline"]["value_net"]), c["segment"]))
    if card["headline"]["value_net"] == 0:
        return None
    return {"segment": card["segment"], "value_net": card["headline"]["value_net"], "customers_net": card["headline"]["customers_net"]}


def _history(row: dict) -> dict:
    return {
        "data_from": row["data_from"].isoformat(),
        "needed_from": row["needed_from"].isoformat(),
        "short": bool(row["short"]),
        "max_window_days": int(row["max_window_days"]),
        "full_history_from": row["full_history_from"].isoformat(),
    }


def _segment_grouping(con, settings) -> dict:
    grouped = _rows(
        con,
        "select source_segment, active_customers from int_segments where segment = 'Other segments' "
        "order by active_customers desc, source_segment",
    )
    return {
        "min_customers": settings.min_segment_customers,
        "only": list(settings.segments) if settings.segments is not None else None,
        "other_segments": [{"segment": g["source_segment"], "customers": int(g["active_customers"])} for g in grouped],
    }


def build_document(
    con,
    *,
    period,
    data_through: date,
    settings,
    quality,
    source,
    with_profitability: bool = False,
    risk_models: dict,
    currency: str | None = None,
) -> dict:
    scorecard_rows = _rows(con, "select * from mart_scorecards order by scope, segment")
    headlines = defaultdict(dict)
    for row in _rows(con, "select * from mart_headlines"):
        headlines[row["scorecard"]][row["comparison"]] = row
    drivers = defaultdict(dict)
    for row in _rows(con, "select * from mart_movement_drivers where rank = 1"):
        drivers[row["scorecard"]][row["direction"]] = row
    history = _history(_rows(con, "select * from mart_history")[0])
    migration = _by_scorecard(_rows(con, "select * from mart_migration order by scorecard, from_order, to_order"))
    within = _by_scorecard(_rows(con, "select * from mart_tier_movement order by scorecard, tier_order"))
    top_lost = _by_scorecard(_rows(con, "select * from mart_top_lost order by scorecard, rank"))
    decliners = _by_scorecard(_rows(con, "select * from mart_top_decliners order by scorecard, rank"))
    highlights = _by_scorecard(_rows(con, "select * from mart_referral_highlights order by scorecard, rank"))
    trend = _by_scorecard(_rows(con, "select * from mart_trend order by scorecard, period_index"))
    profitability = _profitability(con) if with_profitability else {}
    forward = outlook.sections(con, risk_models, settings, has_closed_reason="closed_reason" in source.tables["customers"].columns)

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
                        "headline": _headline_figures(t),
                        "rates": {"nrr": _rate(t["nrr"]), "grr": _rate(t["grr"])},
                        "short_history": bool(t["short_history"]),
                    }
                    for t in trend[key]
                ],
                "headline": _headline(row, headlines[key], drivers[key]),
                "history": history,
                "narrative": [],  # written from the figures once the document is complete
                "profitability": profitability.get(key),  # None without a costs table
            }
            | forward[key]  # cohorts, at_risk, loss_reasons
        )
    # Company first, then segments by name (the query orders scope 'company' before 'segment').
    scorecards[0]["headline"]["segment_moved_most"] = _segment_moved_most(scorecards)
    document = {
        "schema_version": SCHEMA_VERSION,
        "period": {
            "label": period.label,
            "kind": period.kind,
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
            "partial": period.is_partial(data_through),
        },
        "data_through": data_through.isoformat(),
        "data_from": history["data_from"],
        "source": source.description,
        "sample_data": source.is_sample,
        "settings": settings.as_json() | {"company_name": settings.company_name or source.default_company_name, "currency": currency},
        "segment_grouping": _segment_grouping(con, settings),
        "scorecards": scorecards,
        "risk_model": {name: model.as_json() for name, model in risk_models.items()},
        "data_quality": quality_document(quality, data_through),
        "notes": [],
    }
    for card in scorecards:
        card["narrative"] = narrative.sentences(document, card)
    return document


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
        # Amounts given with more than two decimals, rounded to the cent; amount: the net change rounding made.
        "rounded": [
            {"table": e.table, "reason": e.reason, "rows": e.rows, "amount": money(e.amount)}
            for e in quality.exclusions
            if e.kind == "rounded"
        ],
    }


def pseudonym(customer_id: str) -> str:
    """A stable stand-in for a customer's name: the same id always gets the same pseudonym."""
    return "Customer " + hashlib.sha256(customer_id.encode("utf-8")).hexdigest()[:6].upper()


def redact(document: dict) -> dict:
    """Replace every customer name by its pseudonym; notes (free text that may name people) are withheld."""
    document = copy.deepcopy(document)
    for card in document["scorecards"]:
        for row in card["top_lost"] + card["top_decliners"] + card["at_risk"]["customers"]:
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
    headline = scorecard["headline"]
    pairs += [(f"headline.{key}", headline[key]) for key in HEADLINE_KEYS]
    pairs += [(f"headline.parts.{key}", value) for key, value in headline["parts"].items()]
    for comparison in ("previous", "year_ago"):
        if headline[comparison] is not None:
            pairs += [(f"headline.{comparison}.{key}", value) for key, value in headline[comparison].items()]
    pairs += [(f"history.{key}", value) for key, value in scorecard["history"].items()]
    for name, value in (scorecard.get("profitability") or {}).items():
        if isinstance(value, dict):
            pairs += [(f"profitability.{name}.{key}", inner) for key, inner in value.items()]
        elif not isinstance(value, list):
            pairs.append((f"profitability.{name}", value))
    return pairs + outlook.flatten(scorecard)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(text: str) -> str:
    """A text cell a spreadsheet will not run: one starting like a formula (= + - @ tab CR) gets a
    leading apostrophe, as OWASP recommends against CSV injection. Only text cells: numbers stay numbers."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _csv_cell(text: str) -> str:
    """RFC 4180 quoting, CR included (Python 3.11's csv module leaves a bare CR unquoted with "\n" lines)."""
    return '"' + text.replace('"', '""') + '"' if any(character in text for character in ',"\r\n') else text


def to_csv(document: dict) -> str:
    """One row per scorecard × metric: period, scope, segment, metric, value."""
    lines = ["period,scope,segment,metric,value"]
    label = document["period"]["label"]
    for scorecard in document["scorecards"]:
        for metric, value in flatten(scorecard):
            if isinstance(value, Decimal):
                value = f"{value:.2f}"
            elif value is None:
                value = ""
            elif isinstance(value, str):
                value = spreadsheet_text(value)
            cells = [label, scorecard["scope"], spreadsheet_text(scorecard["segment"] or ""), metric, str(value)]
            lines.append(",".join(_csv_cell(cell) for cell in cells))
    return "\n".join(lines) + "\n"


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
        checks |= _headline_checks(card)
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
    for comparison in (None, "previous", "year_ago"):
        figures = company["headline"] if comparison is None else company["headline"][comparison]
        parts = [card["headline"] if comparison is None else card["headline"][comparison] for card in segments]
        if figures is None:
            continue
        for key in HEADLINE_KEYS:
            if None in parts or sum(part[key] for part in parts) != figures[key]:
                problems.append(f"segments do not add up to the company: headline {comparison or 'reported'} {key}")
    return problems + outlook.check_invariants(document)


def _balances(figures: dict) -> bool:
    """gained − lost = net, for customers and for value."""
    return (
        figures["customers_gained"] - figures["customers_lost"] == figures["customers_net"]
        and figures["value_gained"] - figures["value_lost"] == figures["value_net"]
    )


def _headline_checks(card: dict) -> dict[str, bool]:
    """The headline reads the period bridges (int_period_bridges), the bridge the scorecard itself
    (int_scorecard_movements): two paths through the SQL that must agree to the cent."""
    c, v, h = card["customers"], card["value"], card["headline"]
    parts = h["parts"]
    checks = {
        "headline: value_gained − value_lost = value_net = end − start": _balances(h) and h["value_net"] == v["end"] - v["start"],
        "headline: customers net = end − start": h["customers_net"] == c["end"] - c["start"] == c["net"],
        "headline equals the bridge": (h["customers_gained"], h["customers_lost"]) == (c["gained"], c["lost"])
        and h["value_gained"] == v["new"] + v["reactivated"] + v["expansion"]
        and h["value_lost"] == v["lost"] + v["contraction"],
        "headline parts add up": h["value_gained"] == sum(parts[k] for k in GAINED_PARTS)
        and h["value_lost"] == sum(parts[k] for k in LOST_PARTS)
        and parts["lost_lapsed"] + parts["lost_closed"] == v["lost"],
        "comparisons balance": all(_balances(h[k]) for k in ("previous", "year_ago") if h[k] is not None),
        "every trend period balances": all(
            _balances(t["headline"]) and t["headline"]["value_net"] == t["value_end"] - t["value_start"] for t in card["trend"]
        ),
    }
    if card["trend"]:
        checks["the trend's last period is the headline"] = card["trend"][-1]["headline"] == {k: h[k] for k in HEADLINE_KEYS}
    return checks
