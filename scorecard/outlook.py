"""The forward-looking sections of the metrics document (SPEC §3.11–§3.13, §5): `cohorts`, `at_risk` and
`loss_reasons` of each scorecard, read from their marts; their CSV rows; their invariants.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def _money(value) -> Decimal:
    return Decimal(value or 0).quantize(CENT, rounding=ROUND_HALF_UP)


def _optional_money(value) -> Decimal | None:
    return None if value is None else _money(value)


def _fraction(value) -> float | None:
    return None if value is None else round(float(value), 6)


def _rows(con, sql: str) -> dict[str, list[dict]]:
    cursor = con.execute(sql)
    names = [column[0] for column in cursor.description]
    grouped = defaultdict(list)
    for row in cursor.fetchall():
        record = dict(zip(names, row, strict=True))
        grouped[record["scorecard"]].append(record)
    return grouped


def _cohorts(cells: list[dict]) -> list[dict]:
    by_cohort: dict[int, list[dict]] = defaultdict(list)
    for cell in cells:
        by_cohort[cell["cohort_index"]].append(cell)
    cohorts = []
    for index in sorted(by_cohort):
        row = sorted(by_cohort[index], key=lambda cell: cell["periods_since"])
        size = int(row[0]["size"])
        revenue = [_money(cell["revenue"]) for cell in row]
        cohorts.append(
            {
                "cohort": row[0]["cohort"],
                "start": row[0]["start_date"].isoformat(),
                "size": size,
                "buyers": [int(cell["buyers"]) for cell in row],
                "retention": [int(cell["buyers"]) / size if size else None for cell in row],
                "revenue": revenue,
                "revenue_retention": [float(amount / revenue[0]) if revenue[0] > 0 else None for amount in revenue],
            }
        )
    return cohorts


def sections(con, risk_models: dict, settings, *, has_closed_reason: bool) -> dict[str, dict]:
    """By scorecard key: {"cohorts", "at_risk", "loss_reasons"}."""
    cohort_cells = _rows(con, "select * from mart_cohorts order by scorecard, cohort_index, periods_since")
    summaries = {rows[0]["scorecard"]: rows[0] for rows in _rows(con, "select * from mart_at_risk").values()}
    listed = _rows(con, "select * from mart_at_risk_customers order by scorecard, rank")
    reasons = _rows(con, "select * from mart_loss_reasons order by scorecard, customers desc, value desc, reason")
    lapsed = {rows[0]["scorecard"]: rows[0] for rows in _rows(con, "select * from mart_lapsed_signals").values()}
    at_end, at_start = risk_models["end"], risk_models["start"]
    result = {}
    for key, summary in summaries.items():
        result[key] = {
            "cohorts": _cohorts(cohort_cells[key]),
            "at_risk": {
                "threshold": float(settings.risk_threshold),
                "count": summary["customers"],
                "run_rate": _optional_money(summary["run_rate"]),
                "value_at_risk": _optional_money(summary["value_at_risk"]),
                "customers": [
                    {
                        "customer_id": row["customer_id"],
                        "name": row["name"],
                        "run_rate": _money(row["run_rate"]),
                        "p_alive": _fraction(row["p_alive"]),
                        "p_quiet": _fraction(row["p_quiet"]),
                        "value_at_risk": _money(row["value_at_risk"]),
                        "last_purchase": row["last_purchase"].isoformat(),
                        "usual_gap_days": float(row["usual_gap_days"]) if row["usual_gap_days"] is not None else None,
                    }
                    for row in listed[key]
                ],
                "note": at_end.result.note,
                "backtest": {
                    "as_of": at_start.as_of.isoformat(),
                    "flagged": summary["flagged"],
                    "flagged_quiet": summary["flagged_quiet"],
                    "others": summary["others"],
                    "others_quiet": summary["others_quiet"],
                    "lift": _fraction(summary["lift"]),
                    "auc": _fraction(summary["auc"]),
                    "note": at_start.result.note,
                },
            },
            "loss_reasons": {
                "closed": [
                    {"reason": row["reason"], "customers": int(row["customers"]), "value": _money(row["value"])} for row in reasons[key]
                ]
                if has_closed_reason
                else None,
                "lapsed": {
                    "customers": int(lapsed[key]["customers"]),
                    "flagged_at_risk_before": lapsed[key]["flagged_at_risk_before"],
                    "declining_before": lapsed[key]["declining_before"],
                },
            },
        }
    return result


def flatten(scorecard: dict) -> list[tuple[str, object]]:
    """(metric, value) pairs of the forward-looking sections, for the CSV export."""
    at_risk, loss = scorecard["at_risk"], scorecard["loss_reasons"]
    pairs: list[tuple[str, object]] = [(f"at_risk.{key}", at_risk[key]) for key in ("threshold", "count", "run_rate", "value_at_risk")]
    pairs += [(f"at_risk.backtest.{key}", value) for key, value in at_risk["backtest"].items() if key not in ("as_of", "note")]
    pairs += [(f"loss_reasons.lapsed.{key}", value) for key, value in loss["lapsed"].items()]
    for row in loss["closed"] or []:
        pairs += [
            (f"loss_reasons.closed.{row['reason']}.customers", row["customers"]),
            (f"loss_reasons.closed.{row['reason']}.value", row["value"]),
        ]
    for cohort in scorecard["cohorts"]:
        pairs.append((f"cohorts.{cohort['cohort']}.size", cohort["size"]))
        for k, (retention, revenue, revenue_retention) in enumerate(
            zip(cohort["retention"], cohort["revenue"], cohort["revenue_retention"], strict=True)
        ):
            pairs += [
                (f"cohorts.{cohort['cohort']}.retention.{k}", retention),
                (f"cohorts.{cohort['cohort']}.revenue.{k}", revenue),
                (f"cohorts.{cohort['cohort']}.revenue_retention.{k}", revenue_retention),
            ]
    return pairs


def check_invariants(document: dict) -> list[str]:
    """What the forward-looking sections promise: the at-risk list and backtest cover the right customers,
    closure reasons add up to the closed losses, cohorts start with every member buying, and segments add
    up to the company."""
    problems = []
    cards = document["scorecards"]
    for card in cards:
        name = card["segment"] or "company"
        c, at_risk, backtest = card["customers"], card["at_risk"], card["at_risk"]["backtest"]
        loss = card["loss_reasons"]
        checks = {
            "at risk are active at the end": at_risk["count"] is None or at_risk["count"] <= c["end"],
            "at-risk list within the count": len(at_risk["customers"]) <= (at_risk["count"] or 0),
            "backtest covers the customers active at the start": backtest["flagged"] is None
            or backtest["flagged"] + backtest["others"] == c["start"],
            "lapsed = lost_lapsed": loss["lapsed"]["customers"] == c["lost_lapsed"],
            "closure reasons add up to lost_closed": loss["closed"] is None
            or sum(row["customers"] for row in loss["closed"]) == c["lost_closed"],
            "every cohort buys in its own period": all(cohort["buyers"][0] == cohort["size"] for cohort in card["cohorts"]),
        }
        problems += [f"{name}: {rule}" for rule, holds in checks.items() if not holds]
    company = next(card for card in cards if card["scope"] == "company")
    segments = [card for card in cards if card["scope"] == "segment"]
    additive = {
        "at_risk.count": lambda card: card["at_risk"]["count"],
        "at_risk.value_at_risk": lambda card: card["at_risk"]["value_at_risk"],
        "at_risk.backtest.flagged": lambda card: card["at_risk"]["backtest"]["flagged"],
        "at_risk.backtest.flagged_quiet": lambda card: card["at_risk"]["backtest"]["flagged_quiet"],
        "cohorts.size": lambda card: [cohort["size"] for cohort in card["cohorts"]],
    }
    for key, read in additive.items():
        total = read(company)
        if total is None:
            continue
        parts = [read(card) for card in segments]
        summed = [sum(values) for values in zip(*parts, strict=True)] if isinstance(total, list) else sum(parts)
        if summed != total:
            problems.append(f"segments do not add up to the company: {key}")
    return problems
