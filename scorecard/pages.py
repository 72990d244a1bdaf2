"""The PDF pages' model: the metrics document → the display-ready text, tables and chart frames that
the Typst templates (templates/pdf/) lay out. Every figure is formatted here, from the metrics document
only, with the same view models as the HTML summaries (scorecard/render.py); the templates only place it.

Shapes the templates know:
- a table: {"header": [cell…], "rows": [[cell…]…], "total": bool (the last row is a total)}; a cell is a
  string, or {"text", "tone": "gain"|"loss"|"muted"} , or a heat cell {"n", "v", "fill": "#rrggbbaa"},
  or {"text", "span": columns} for a row that says there is nothing to show;
- rich text: a list of [text, style] runs, style "" (plain), "b" (bold) or "i" (italic).
"""

from __future__ import annotations

from datetime import date

from . import charts, formatting, narrative, render


def _cell(text: str, tone: str = "") -> dict | str:
    return {"text": text, "tone": tone} if tone else text


def _table(header: list, rows: list[list], total: bool = False) -> dict:
    return {"header": header, "rows": rows, "total": total}


def _rgba_fill(css: str) -> str:
    """ "rgba(0, 114, 178, 0.34)" (as the HTML views colour heat cells) → "#0072b257"; "transparent" → ""."""
    if not css.startswith("rgba("):
        return ""
    red, green, blue, alpha = (part.strip() for part in css[5:-1].split(","))
    return f"#{int(red):02x}{int(green):02x}{int(blue):02x}{round(float(alpha) * 255):02x}"


def _meta(document: dict, company: str, title: str, description: str, running_title: str) -> dict:
    through = date.fromisoformat(document["data_through"])
    return {
        "title": title,
        "author": company,
        "description": description,
        "date": [through.year, through.month, through.day],  # fixed, so identical input gives identical bytes
        "running_title": running_title,
        "data_through": f"Data through {document['data_through']}",
        "company": company,
        "sample": bool(document["sample_data"]),
    }


def _logo(settings: dict) -> dict | None:
    data = render.check_logo(settings["logo"])
    if data is None:
        return None
    kind = settings["logo"].rsplit(".", 1)[-1].lower()
    return {"bytes": list(data), "format": {"jpeg": "jpg"}.get(kind, kind)}


def scorecard(document: dict, card: dict) -> dict:
    """One scorecard's pages: headline, bridges, tiers, losses, outlook, referrals, notes, profitability."""
    frames = charts.frames(document, card)
    document, card = render.for_display(document), render.for_display(card)
    company = document["settings"]["company_name"]
    numbers = formatting.Numbers.for_document(document)
    common = render.shared_context(document, company)
    scope_title = card["segment"] if card["segment"] is not None else "Company"
    label = document["period"]["label"]
    who = render.Names(card)
    return {
        "meta": _meta(
            document,
            company,
            title=f"{company} · {scope_title} scorecard · {label}",
            description=f"Customers gained versus lost, {scope_title}, {label}",
            running_title=f"{scope_title} · {common['period_title']}",
        ),
        "scope_title": scope_title,
        "in_pack": False,
        "logo": _logo(document["settings"]),
        "charts": frames,
        "headline": _headline(document, card, numbers, common, scope_title),
        "bridges": _bridges(card, numbers, common),
        "tiers": _tiers(card, numbers),
        "losses": _losses(card, numbers, who),
        "outlook": _outlook(card, document, numbers, who),
        "referrals": _referrals(card, numbers, who, common["has_referrals"]),
        "definitions": [[list(term) for term in run] for run in render.definitions(document["settings"], numbers)],
        "quality": _quality(document, card, numbers, common),
        "profitability": _profitability(card, document, numbers, who),
    }


def _headline(document: dict, card: dict, numbers: formatting.Numbers, common: dict, scope_title: str) -> dict:
    caveats = []
    if card["segment"] == "Other segments" and common["segment_grouping"]:
        caveats.append(common["segment_grouping"])
    caveats += [f"Note: {note}" for note in document["notes"]]
    return {
        "title": f"{scope_title}: customers gained versus lost",
        "subtitle": f"{common['period_title']} · {common['company']}",
        "short_history": common["short_history"],
        "narrative": " ".join(render.story(document, card)),
        "material_exclusions": common["material_exclusions"],
        "caveats": caveats,
        "tiles": render.tiles(card, numbers, narrative.comparison_labels(document)),
        "targets": render.targets(card, document["settings"]["targets"], numbers),
    }


def _bridges(card: dict, numbers: formatting.Numbers, common: dict) -> dict:
    c, v, rates = card["customers"], card["value"], card["rates"]
    period = common["period"]
    count, money = numbers.count, numbers.money
    customers = _table(
        ["Customers", "Count"],
        [
            [f"At start ({period['start']})", count(c["start"])],
            ["+ New", _cell(count(c["new"], signed=True), "gain")],
            ["+ Won back", _cell(count(c["reactivated"], signed=True), "gain")],
            ["− Lost, lapsed", _cell(count(-c["lost_lapsed"], signed=True), "loss")],
            ["− Lost, closed account", _cell(count(-c["lost_closed"], signed=True), "loss")],
            [f"At end ({period['end']})", count(c["end"])],
        ],
        total=True,
    )
    value = _table(
        ["Annual run-rate value", common["currency"] or "Value"],
        [
            ["At start", money(v["start"], exact=True)],
            ["+ New customers", _cell(money(v["new"], signed=True, exact=True), "gain")],
            ["+ Won-back customers", _cell(money(v["reactivated"], signed=True, exact=True), "gain")],
            ["+ Expansion of retained", _cell(money(v["expansion"], signed=True, exact=True), "gain")],
            ["− Contraction of retained", _cell(money(-v["contraction"], signed=True, exact=True), "loss")],
            ["− Lost customers", _cell(money(-v["lost"], signed=True, exact=True), "loss")],
            ["At end", money(v["end"], exact=True)],
        ],
        total=True,
    )
    in_and_out = (
        f"Also {numbers.plural(c['in_and_out'], 'customer')} came and went within the period "
        "(bought, then returned everything or closed): in neither gains nor losses."
        if c["in_and_out"]
        else None
    )
    engagement = _table(
        ["Retained customers who…", "Customers", "Share of retained", "Their run-rate at end"],
        [[row["label"], count(row["customers"]), numbers.percent(row["share"]), money(row["value"])] for row in render.engagement(card)],
    )
    return {
        "customers": customers,
        "value": value,
        "in_and_out": in_and_out,
        "engagement_intro": f"Of the {numbers.plural(c['retained'], 'customer')} who stayed, how their purchases moved "
        f"(run-rate change beyond ±{common['threshold']}).",
        "engagement": engagement,
        "rates": f"Rates, secondary to the counts above: logo retention {numbers.percent(rates['logo_retention'])} · "
        f"logo churn {numbers.percent(rates['logo_churn'])} · gross revenue retention {numbers.percent(rates['grr'])} · "
        f"net revenue retention {numbers.percent(rates['nrr'])} · customers gained per customer lost {numbers.ratio(rates['gain_loss_ratio'])}.",
    }


def _heat(cell: dict, numbers: formatting.Numbers, value=None) -> dict:
    return {
        "n": numbers.count(cell["customers"]),
        "v": numbers.money(cell["value"] if value is None else value),
        "fill": _rgba_fill(cell["background"]),
    }


def _tiers(card: dict, numbers: formatting.Numbers) -> dict:
    tiers = card["tiers"]
    if tiers["core"] is None:
        return {"intro": None, "table": None, "within": None}
    matrix = render.migration(card)
    rows = [[row["label"], *(_heat(cell, numbers) for cell in row["cells"]), numbers.count(row["total"])] for row in matrix["rows"]]
    rows.append(["Total", *(numbers.count(total) for total in matrix["totals"]), numbers.count(matrix["grand_total"])])
    within = "; ".join(
        f"{row['tier']}: {numbers.count(row['grew'])} grew, {numbers.count(row['stable'])} stable, {numbers.count(row['declined'])} declined"
        for row in card["within_tier"]
    )
    return {
        "intro": [
            ["Tiers by annual run-rate, fixed for this scorecard: ", ""],
            ["top", "b"],
            [f" ≥ {numbers.money(tiers['top'], exact=True)}, ", ""],
            ["core", "b"],
            [f" ≥ {numbers.money(tiers['core'], exact=True)}, ", ""],
            ["base", "b"],
            [" below. Each cell: customers, and their run-rate at the end (at the start for those lost).", ""],
        ],  # fmt: skip
        "table": _table(["From \\ to", *matrix["columns"], "Total"], rows, total=True),
        "within": f"Movement within a tier — retained customers who stayed in their tier: {within}.",
    }


def _losses(card: dict, numbers: formatting.Numbers, who: render.Names) -> dict:
    lost = [
        [
            {"text": who(row["customer_id"], row["name"]), "mark": "✝" if row["closed"] else ""},
            _cell(numbers.money(row["value"], exact=True), "loss"),
        ]
        for row in card["top_lost"]
    ]
    decliners = [
        [who(row["customer_id"], row["name"]), numbers.money(row["value_start"]), numbers.money(row["value_end"]),
         _cell(numbers.money(row["change"], signed=True), "loss")]
        for row in card["top_decliners"]
    ]  # fmt: skip
    return {
        "lost": _table(["Customer", "Run-rate lost"], lost) if lost else None,
        "any_closed": any(row["closed"] for row in card["top_lost"]),
        "decliners": _table(["Customer", "From", "To", "Change"], decliners) if decliners else None,
    }


def _outlook(card: dict, document: dict, numbers: formatting.Numbers, who: render.Names) -> dict:
    o = render.outlook(card, document, numbers)
    noun = o["noun"]
    risk = _table(
        ["Customer at risk", "Run-rate", f"Chance of no purchase next {noun}", "Value at risk", "Last bought · usually"],
        [
            [who(row["customer_id"], row["name"]), numbers.money(row["run_rate"]), row["chance"], _cell(numbers.money(row["value_at_risk"]), "loss"),
             row["rhythm"]]
            for row in o["rows"]
        ],
    )  # fmt: skip
    cohort_rows = []
    for row in o["cohorts"]:
        if row["size"]:
            cells = [{"n": cell["retention"], "v": cell["revenue"], "fill": _rgba_fill(cell["background"])} for cell in row["cells"]]
            cells += [""] * (o["cohort_columns"] - len(cells))
        else:
            # An empty cohort before the data begins is unknown, not empty.
            before_data = str(row["start"]) < document["data_from"]
            words = "before the data begins" if before_data else "no customers acquired"
            cells = [{"text": words, "span": o["cohort_columns"], "tone": "muted"}]
        cohort_rows.append([row["cohort"], numbers.count(row["size"]), *cells])
    cohort_header = ["First bought in", "Customers", *(f"same {noun}" if k == 0 else f"+{k}" for k in range(o["cohort_columns"]))]
    cohort_note = [
        [f"Each row: the customers whose first purchase fell in that {noun}. Per {noun} since: ", ""], ["the share who bought", "b"],
        [f" (bold) and, below, their revenue as a share of their first {noun}'s (refunds subtract; – when that was zero or less).", ""],
    ]  # fmt: skip
    if o["cohorts_before_data"]:
        cohort_note.append(
            [f" The data begins on {o['data_from']}: customers who first bought before then count from their first purchase in the data, "
             "so the earliest cohorts with customers hold some older ones.", ""]
        )  # fmt: skip
    closed = o["closed"]
    return {
        "noun": noun,
        "headline": o["headline"],
        "explained": f"At risk: an active customer whose chance of buying nothing in the next {noun} is at least {o['threshold']}. "
        "The chance comes from a statistical model of every customer's purchase days (how often they buy, and how long since "
        f"they last did: BG/NBD); value at risk = run-rate × that chance. Days are counted to {o['end']}. The backtest "
        f"fits the same model on the orders before the {noun} began and checks the same threshold against what those customers then did.",
        "backtest_title": f"Would it have worked last {noun}?",
        "backtest": o["backtest"],
        "strength": o["strength"],
        "weak": o["weak"],
        "risk": risk if o["rows"] else None,
        "cohorts": _table(cohort_header, cohort_rows),
        "cohort_note": cohort_note,
        "closed": None
        if closed is None
        else _table(
            ["Reason", "Customers", "Run-rate lost"],
            [
                [_truncated(row["reason"], 80), numbers.count(row["customers"]), _cell(numbers.money(row["value"]), "loss")]
                for row in closed
            ],
        ),
        "closed_state": "unknown" if closed is None else "some" if closed else "none",
        "lapsed": o["lapsed"],
    }


def _truncated(text: str, limit: int) -> str:
    """As Jinja's truncate(limit, True): cut to `limit` characters with an ellipsis of three dots."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _referrals(card: dict, numbers: formatting.Numbers, who: render.Names, has_referrals: bool) -> dict:
    r = card["referrals"]
    if not has_referrals:
        summary, muted = "No referral data: the data has no referrals table.", True
    elif not r["made"] and not r["referred_new_customers"]:
        summary, muted = "No referrals were made this period, and no new customer came through a referral.", True
    else:
        made = numbers.plural(r["made"], "referral") + " made this period"
        if r["made"]:
            made += f" by {numbers.plural(r['referrers'], 'customer')}"
        if r["referred_new_customers"]:
            came = (
                f"{numbers.plural(r['referred_new_customers'], 'new customer')} came through a referral, "
                f"worth {numbers.money(r['referred_new_value'])} a year."
            )
        else:
            came = "no new customer came through a referral."
        summary, muted = f"{made}; {came}", False
    highlights = []
    for h in r["highlights"]:
        referred = (
            [who(h["referred_customer_id"], h["referred_name"]), "b"]
            if h["referred_customer_id"]
            else ["a prospect (not yet a customer)", ""]
        )
        worth = f", now worth {numbers.money(h['value'])} a year" if h["value"] is not None else ""
        highlights.append(
            {
                "text": [
                    [who(h["referrer_id"], h["referrer_name"]), "b"],
                    [" referred ", ""],
                    referred,
                    [f" on {h['referred_at']}{worth}.", ""],
                ],
                "note": f"“{h['note']}”" if h["note"] else None,
            }
        )
    return {"summary": summary, "muted": muted, "highlights": highlights}


def _quality(document: dict, card: dict, numbers: formatting.Numbers, common: dict) -> dict:
    quality = document["data_quality"]
    excluded_by_table: dict[str, int] = {}
    for item in quality["excluded"]:
        excluded_by_table[item["table"]] = excluded_by_table.get(item["table"], 0) + item["rows"]
    period, settings = common["period"], document["settings"]
    source = [["Data from ", ""], [card["history"]["data_from"], "b"], [" through ", ""], [document["data_through"], "b"]]
    if period["partial"]:
        source += [["; this period is ", ""], ["partial", "b"], [f" (it ends {period['last_day']})", ""]]
    read = " · ".join(
        f"{table} {numbers.count(rows)}"
        + (f" ({numbers.count(excluded_by_table[table])} excluded)" if excluded_by_table.get(table) else "")
        for table, rows in quality["rows_read"].items()
    )
    source.append([f". Source: {common['source']}. Rows read: {read}. ", ""])
    if not quality["excluded"]:
        source.append(["No rows were excluded: every figure uses every row.", ""])
    excluded = [
        [
            item["reason"],
            item["table"],
            numbers.count(item["rows"]),
            numbers.money(item["amount"], exact=True) if item["amount"] is not None else "–",
        ]
        for item in quality["excluded"]
    ]
    ignored = "".join(
        numbers.plural_phrase(item["rows"], item["reason"])
        + (f", {numbers.money(item['amount'], exact=True)}" if item["amount"] is not None else "")
        + ". "
        for item in quality["ignored"]
    )
    currency = (
        f"amounts in {common['currency']}"
        if common["currency"]
        else "no currency given, so amounts carry no currency sign (set --currency)"
    )
    return {
        "source": source,
        "short_history": common["short_history"],
        "segment_grouping": common["segment_grouping"],
        "excluded": _table(["Excluded from every figure", "Table", "Rows", "Amount"], excluded) if excluded else None,
        "notes": list(document["notes"]),
        "settings": f"{ignored}Settings: value window {settings['window_days']} days; change threshold {common['threshold']}; "
        f"tier quantiles {', '.join(str(q) for q in settings['tier_quantiles'])}; segments by “{settings['segment_by']}”; "
        f"time zone {settings['time_zone']}; {currency}.",
    }


def _profitability(card: dict, document: dict, numbers: formatting.Numbers, who: render.Names) -> dict | None:
    p = card["profitability"]
    if not p:
        return None
    words = render.profitability(card, document["settings"], numbers)
    money = numbers.money
    by_kind = [
        [row["kind"], money(row["amount"]), numbers.percent(row["amount"] / p["cost_to_serve"]) if p["cost_to_serve"] else "–",
         numbers.count(row["customers"])]
        for row in p["cost_by_kind"]
    ] or [[{"text": "No costs in the window.", "span": 4, "tone": "muted"}]]  # fmt: skip
    destroyers = [
        [who(row["customer_id"], row["name"]), money(row["revenue"]), money(row["cost_to_serve"]), _cell(money(row["profit"], signed=True), "loss"),
         row["main_cost_kind"] or "–"]
        for row in p["top_destroyers"]
    ]  # fmt: skip
    return {
        "headline": words["headline"],
        "explained": f"Profit per customer over the {document['settings']['window_days']} days before {document['period']['end']}: "
        f"run-rate × gross margin ({words['margin_note']}) minus cost to serve. Revenue {money(p['revenue'])}, gross profit "
        f"{money(p['gross_profit'])}, cost to serve {money(p['cost_to_serve'])}, profit {money(p['total_profit'])} over "
        f"{numbers.plural(p['customers'], 'customer')}.",
        "by_kind": _table(["Kind", "Cost", "Share", "Customers"], by_kind),
        "destroyers": _table(["Customer", "Revenue", "Cost", "Profit", "Main cost"], destroyers) if destroyers else None,
    }


def board_pack(document: dict, cards: list[dict]) -> dict:
    """The pack: cover (the company's story, the segments compared), contents, then every scorecard's pages
    (`cards`: their page models, company first, then the segments in the order of the comparison)."""
    document = render.for_display(document)
    company = document["settings"]["company_name"]
    numbers = formatting.Numbers.for_document(document)
    common = render.shared_context(document, company)
    label = document["period"]["label"]
    rows = render.comparison(document)
    customers = [
        [row["name"], numbers.count(row["start"]), _cell(numbers.count(row["gained"], signed=True), "gain"),
         _cell(numbers.count(-row["lost"], signed=True), "loss"), _cell(numbers.count(row["net"], signed=True), _tone(row["net_tone"])),
         numbers.count(row["end"])]
        for row in rows
    ]  # fmt: skip
    value = [
        [row["name"], _cell(numbers.money(row["value_gained"], signed=True), "gain"), numbers.money(row["parts"]["new"]),
         numbers.money(row["parts"]["reactivated"]), numbers.money(row["parts"]["expansion"]),
         _cell(numbers.money(-row["value_lost"], signed=True), "loss"),
         numbers.money(row["parts"]["lost_lapsed"] + row["parts"]["lost_closed"]), numbers.money(row["parts"]["contraction"]),
         _cell(numbers.money(row["value_net"], signed=True), _tone(row["value_tone"])), numbers.percent(row["nrr"])]
        for row in rows
    ]  # fmt: skip
    note = (
        "Gained = new + won back. Value gained = run-rate of new and won-back customers at the end + expansion of retained customers; "
        "value lost = run-rate of lost customers at the start + contraction of retained customers; value net = gained − lost = "
        "run-rate at end − at start. Segments sorted by value net, largest first; the company total comes last."
    )
    if common["segment_grouping"]:
        note += " " + common["segment_grouping"]
    return {
        "meta": _meta(
            document,
            company,
            title=f"{company} · customer scorecards · {label}",
            description=f"Board pack: customers gained versus lost by segment, {label}",
            running_title=f"Board pack · {common['period_title']}",
        ),
        "logo": _logo(document["settings"]),
        "lead": f"{company} · {common['period_title']} · data through {document['data_through']}",
        "short_history": common["short_history"],
        "narrative": " ".join(render.story(document, document["scorecards"][0])),
        "material_exclusions": common["material_exclusions"],
        "customers": _table(["Customers", "Start", "Gained", "Lost", "Net", "End"], customers, total=True),
        "value": _table(
            [
                "Annual run-rate value",
                "Value gained",
                "new",
                "won back",
                "expansion",
                "Value lost",
                "lost customers",
                "contraction",
                "Value net",
                "NRR",
            ],
            value,
            total=True,
        ),
        "comparison_note": note,
        "scorecards": [card | {"in_pack": True} for card in cards],
    }


def _tone(tone: str) -> str:
    return {"gain": "gain", "loss": "loss"}.get(tone, "")
