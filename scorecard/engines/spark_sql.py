r"""DuckDB SQL → Spark SQL, for the Spark engine. The models stay written once, in DuckDB's dialect.

SQLGlot translates the syntax. It does not know the types, and it passes some constructs through that
Spark lacks or reads differently, so a translation here is three steps:

1. Expand the macros of sql/macros/ inline: DuckDB macros are substituted expressions, and Spark has no
   SQL macros.
2. Refuse anything not on the list of constructs whose Spark translation has been checked against DuckDB
   (`PORTABLE`, `_check`): a new function or construct in a model fails the transpile test
   (tests/test_spark_sql.py) until its translation is verified, so no model can silently compute
   something else on Spark.
3. Apply the few rules where the same words mean different things (`RULES`):
   - `a / b` is always a DOUBLE division in DuckDB; Spark keeps decimals as decimals (with its own
     rounding of the scale), so both sides become DOUBLE first.
   - `row_number() over ()` (no order) numbers rows arbitrarily in DuckDB; Spark requires an order.
     The models use it only for surrogate keys, whose values are never shown or compared: Spark gets
     `monotonically_increasing_id()` (unique, not consecutive; 64 bits, so a cast of the key to a
     narrower integer is dropped with it). The engine materialises such a model once (a checkpoint), so
     the keys cannot change between reads.
   - `timezone(zone, <timestamptz>)` becomes `from_utc_timestamp` (the session time zone is UTC, as in
     DuckDB), as a TIMESTAMP_NTZ like DuckDB's result.
   - `hash(x)` becomes `xxhash64(x)`: another 64-bit hash. Only for grouping; its values differ.
   - Text read as a date or timestamp (`try_cast(text as date|timestamp|timestamptz)`) is guarded by
     the shapes DuckDB accepts: Spark also reads '2025' or '2025-07' as a date, DuckDB does not.
   - `date_diff('month', a, b)` counts month boundaries in DuckDB (31 Jan → 1 Feb is 1) and whole months
     in Spark (0): it becomes the difference of year × 12 + month.
   - Regular expressions are RE2 in DuckDB and Java's in Spark: `$` becomes `\z` (Java's `$` also
     matches before a final line break), `\s` RE2's set (Java's includes the vertical tab), replacement
     groups `\1` become `$1`, `regexp_full_match` an anchored RLIKE. regexp_replace without 'g' replaces
     the first match in DuckDB and every match in Spark: only a pattern anchored with ^ or $ (one match
     at most) is accepted. `\w`, `\b`, `\p{…}` differ between the two and are refused.
   - `strlen` (bytes) is Spark's `octet_length`.

Date arithmetic: `date ± integer` (days) means the same in both; write a difference of two dates as
`date_diff('day', a, b)` (in Spark `date - date` is an interval; the engine refuses a model whose result
holds one). Decimal arithmetic keeps DuckDB's scale because the engine turns off Spark's precision loss
(spark.sql.decimalOperations.allowPrecisionLoss). `round(x, n)` of a DECIMAL rounds half away from zero
in both; of a DOUBLE, DuckDB rounds x · 10^n in binary and Spark the shortest decimal form of x, which
differ (round(1.005, 2): 1.0 against 1.01), so a model rounds a double as `round(x * 100) / 100`: to a
whole number both engines round the binary value the same way. `ln` and `exp` of doubles come from the C
library in DuckDB and from Java's StrictMath in Spark: both within one unit in the last place, and the
at-risk figures built on them reach metrics.json rounded, so they agree unless a value falls within
about 1e-15 of a rounding boundary or the risk threshold.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import sqlglot
from sqlglot import ErrorLevel, exp

from ..errors import ScorecardError


class UnportableSQL(ScorecardError):
    """A model or query uses a construct without a verified Spark translation (a bug of the tool)."""


# Every node type a model or query may contain: each has a translation checked against DuckDB by the
# differential tests (tests/test_spark_engine.py) or tests/test_spark_sql.py.
PORTABLE = frozenset(
    {
        # statements and clauses
        exp.Select, exp.With, exp.CTE, exp.From, exp.Join, exp.Where, exp.Group, exp.GroupingSets, exp.Having,
        exp.Order, exp.Ordered, exp.Limit, exp.Union, exp.Subquery, exp.Table, exp.TableAlias, exp.Values,
        exp.Alias, exp.Column, exp.Identifier, exp.Star, exp.Distinct, exp.Paren, exp.Tuple, exp.Placeholder,
        exp.Window, exp.WindowSpec, exp.Filter,
        # values and types
        exp.Literal, exp.Null, exp.Boolean, exp.DataType, exp.DataTypeParam, exp.Var, exp.Cast, exp.TryCast,
        # operators and predicates
        exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Neg, exp.DPipe, exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE,
        exp.And, exp.Or, exp.Not, exp.Is, exp.In, exp.Exists, exp.Between, exp.Case, exp.If, exp.Like,
        # functions
        exp.Count, exp.Sum, exp.Min, exp.Max, exp.ArgMax, exp.RowNumber, exp.Grouping, exp.Coalesce, exp.Nullif,
        exp.Greatest, exp.Least, exp.Ceil, exp.Floor, exp.Trim, exp.Lower, exp.Upper, exp.Length, exp.Pad,
        exp.RegexpLike, exp.DateDiff, exp.Abs, exp.Exp, exp.Ln, exp.Round, exp.IntDiv, exp.Median, exp.LogicalOr,
        exp.StrPosition, exp.Rank, exp.Lag, exp.RegexpFullMatch, exp.RegexpReplace, exp.Left,
        # bits of an integer: shifts, and, and the bit_or aggregate (SHIFTLEFT, SHIFTRIGHT, &, BIT_OR in Spark)
        exp.BitwiseLeftShift, exp.BitwiseRightShift, exp.BitwiseAnd, exp.BitwiseOrAgg,
    }
)  # fmt: skip
# Functions SQLGlot does not know, translated by a rule below.
TRANSLATED_FUNCTIONS = frozenset({"timezone", "hash", "strlen"})
# Window functions (besides aggregates) with the same meaning in both: numbering and the previous row.
PORTABLE_WINDOW_FUNCTIONS = (exp.RowNumber, exp.Rank, exp.Lag)
# Types a value may be cast to.
PORTABLE_TYPES = frozenset(
    {
        exp.DataType.Type.VARCHAR, exp.DataType.Type.TEXT, exp.DataType.Type.DATE, exp.DataType.Type.TIMESTAMPNTZ,
        exp.DataType.Type.TIMESTAMPTZ, exp.DataType.Type.DECIMAL, exp.DataType.Type.INT, exp.DataType.Type.BIGINT,
        exp.DataType.Type.DOUBLE, exp.DataType.Type.BOOLEAN,
    }
)  # fmt: skip
_TEMPORAL = (exp.DataType.Type.DATE, exp.DataType.Type.TIMESTAMPNTZ, exp.DataType.Type.TIMESTAMPTZ)

# A zone named after a timestamp, as both engines read it to the same instant: UTC, GMT or an IANA name
# (Area/City), spelled as the zone database spells it (DuckDB also reads 'utc' or 'europe/berlin', Spark
# does not; abbreviations such as CET or IST may name other zones in Java: both are left to stop the run).
NAMED_ZONE = r" (UTC|GMT|[A-Z][A-Za-z_]+(/[A-Z][A-Za-z0-9_+-]*)+)"
# The text shapes DuckDB reads as a date or timestamp, as far as the tool accepts them: an ISO date
# (2025-07-01 or 2025/07/01), optionally followed by a time (with fractional seconds) and a zone offset
# (Z, +02, +0200, +02:00) right after it, or a named zone (NAMED_ZONE). Spark reads partial dates ('2025', '2025-07') as well, so its
# casts only see text of these shapes, normalised to what Spark's cast reads: dashes in the date and
# seconds before a zone (DuckDB reads '23:30Z', Spark only '23:30:00Z').
TEMPORAL_TEXT = (
    r"^\s*\d{4,}(-\d{1,2}-\d{1,2}|/\d{1,2}/\d{1,2})([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?|" + NAMED_ZONE + r")?)?\s*$"
)
_NORMALISE = (
    (r"^(\s*\d{4,})/(\d{1,2})/(\d{1,2})", "$1-$2-$3"),
    (r"([ T]\d{1,2}:\d{2})(Z|[+-]\d| )", "$1:00$2"),
)


def _parse(sql: str) -> exp.Expression:
    return sqlglot.parse_one(sql, read="duckdb")


class Macros:
    """The `create [or replace] macro name(params) as expression` definitions of sql/macros/."""

    def __init__(self) -> None:
        self.definitions: dict[str, tuple[list[str], exp.Expression]] = {}

    def add(self, sql: str) -> None:
        for statement in sqlglot.parse(sql, read="duckdb"):
            if statement is None:
                continue
            if not (isinstance(statement, exp.Create) and str(statement.args.get("kind", "")).upper() == "MACRO"):
                raise UnportableSQL(f"only macro definitions can be translated for Spark, not: {statement.sql('duckdb')[:80]}")
            signature = statement.this
            params = [identifier.name.lower() for identifier in signature.expressions]
            self.definitions[signature.this.name.lower()] = (params, statement.expression)

    def expand(self, tree: exp.Expression) -> exp.Expression:
        """Replace every macro call by the macro's expression, its parameters by the call's arguments."""
        for _ in range(20):  # macros may call macros
            calls = [node for node in tree.find_all(exp.Anonymous) if node.name.lower() in self.definitions]
            if not calls:
                return tree
            for call in calls:
                params, body = self.definitions[call.name.lower()]
                if len(call.expressions) != len(params):
                    raise UnportableSQL(f"macro {call.name} takes {len(params)} arguments, got {len(call.expressions)}")
                arguments = dict(zip(params, call.expressions, strict=True))

                def substitute(node, arguments=arguments):
                    if isinstance(node, exp.Column) and not node.table and node.name.lower() in arguments:
                        return _grouped(arguments[node.name.lower()].copy())
                    return node

                replacement = exp.Paren(this=body.copy().transform(substitute))
                if call is tree:
                    tree = replacement
                else:
                    call.replace(replacement)
        raise UnportableSQL("macros nest too deeply")


def _grouped(node: exp.Expression) -> exp.Expression:
    atomic = (exp.Column, exp.Literal, exp.Func, exp.Cast, exp.Paren, exp.Null, exp.Boolean, exp.Placeholder)
    return node if isinstance(node, atomic) else exp.Paren(this=node)


def _check(tree: exp.Expression, what: str) -> None:
    """Refuse every construct whose translation has not been verified (see PORTABLE)."""

    def refuse(construct: str) -> UnportableSQL:
        return UnportableSQL(
            f"{what}: {construct} has no verified Spark translation; write it with the constructs listed in "
            "scorecard/engines/spark_sql.py, or add a translation rule there with a test"
        )

    for node in tree.walk():
        if isinstance(node, exp.Anonymous):
            if node.name.lower() not in TRANSLATED_FUNCTIONS:
                raise refuse(f"function {node.name}()")
            continue
        if type(node) not in PORTABLE:
            name = node.key if not isinstance(node, exp.Func) else f"function {node.sql('duckdb').split('(')[0].lower()}()"
            raise refuse(name)
        if isinstance(node, exp.DataType) and node.this not in PORTABLE_TYPES and not isinstance(node.parent, exp.DataType):
            raise refuse(f"type {node.sql('duckdb')}")
        if isinstance(node, exp.Group) and node.args.get("all"):
            raise refuse("GROUP BY ALL")
        if isinstance(node, exp.Star) and any(node.args.get(key) for key in ("replace", "rename")):
            raise refuse("* REPLACE/RENAME")
        if isinstance(node, exp.Join) and (
            node.args.get("method") or (node.args.get("kind") or "INNER").upper() not in ("INNER", "OUTER", "CROSS", "SEMI")
        ):
            raise refuse(f"{node.args.get('method') or node.args['kind']} JOIN")
        if isinstance(node, exp.Tuple) and not isinstance(node.parent, exp.ArgMax | exp.In | exp.Values | exp.GroupingSets):
            raise refuse("a row value (a, b) outside arg_max, IN, VALUES or GROUPING SETS")
        if isinstance(node, exp.Window) and not isinstance(node.this, PORTABLE_WINDOW_FUNCTIONS + (exp.AggFunc,)):
            raise refuse(f"window function {node.this.sql('duckdb')}")
        if isinstance(node, exp.Union) and node.args.get("by_name"):
            raise refuse("UNION BY NAME")
        if isinstance(node, exp.DateDiff) and node.text("unit").lower() not in ("day", "month", ""):
            raise refuse(f"date_diff by {node.text('unit').lower()}")
        if isinstance(node, exp.Round) and node.args.get("decimals") is not None and not isinstance(node.args["decimals"], exp.Literal):
            raise refuse("round() to a computed number of digits")
        if isinstance(node, exp.RegexpLike | exp.RegexpFullMatch | exp.RegexpReplace):
            if not all(isinstance(node.args.get(key), exp.Literal | None) for key in ("expression", "replacement")):
                raise refuse("a regular expression that is not a literal")
            if isinstance(node, exp.RegexpReplace) and (node.args.get("modifiers") or node.args.get("position")):
                raise refuse("regexp_replace options")
            if isinstance(node, exp.RegexpReplace) and node.args.get("single_replace") and not _anchored(node.expression.this):
                raise refuse("regexp_replace of the first match only (Spark replaces every match): anchor the pattern with ^ or $")


# --- translation rules: DuckDB meaning → Spark spelling -------------------------------------------


def _anchored(pattern: str) -> bool:
    """A pattern that can match at most once: anchored at the start or the end of the text."""
    return pattern.startswith("^") or (pattern.endswith("$") and not pattern.endswith("\\$"))


def java_regex(pattern: str) -> str:
    """A DuckDB (RE2) regular expression as Java reads it the same way: `$` is the end of the text (Java's
    also matches before a final line break: `\\z` is RE2's `$`), and `\\s` is RE2's [\\t\\n\\f\\r ] (Java's also
    matches a vertical tab). Anything else the models use (\\d, classes, groups, ?, +, *, {n,m}, |) reads the same."""
    out, index, in_class = [], 0, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            pair = pattern[index : index + 2]
            if pair == "\\s":
                out.append("\\t\\n\\f\\r " if in_class else "[\\t\\n\\f\\r ]")
            elif pair[1] in "SwWbBpPQE":
                raise UnportableSQL(f"the regular expression {pattern!r} uses {pair}, whose meaning differs between DuckDB and Spark")
            else:
                out.append(pair)
            index += 2
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        out.append("\\z" if char == "$" and not in_class else char)
        index += 1
    return "".join(out)


def java_replacement(replacement: str) -> str:
    """A DuckDB regexp_replace replacement (\\1 a group, \\\\ a backslash) in Java's spelling ($1, \\\\, \\$)."""
    out, index = [], 0
    while index < len(replacement):
        char = replacement[index]
        if char == "\\" and index + 1 < len(replacement):
            following = replacement[index + 1]
            out.append("$" + following if following.isdigit() else "\\" + following)
            index += 2
            continue
        out.append("\\$" if char == "$" else char)
        index += 1
    return "".join(out)


def _regular_expressions(tree: exp.Expression) -> exp.Expression:
    """regexp_full_match(x, p) → x RLIKE '^(?:p)\\z'; every pattern and replacement in Java's spelling."""

    def rule(node):
        if isinstance(node, exp.RegexpFullMatch):
            pattern = exp.Literal.string("^(?:" + java_regex(node.expression.this) + ")\\z")
            return exp.RegexpLike(this=node.this, expression=pattern)
        if isinstance(node, exp.RegexpLike):
            node.set("expression", exp.Literal.string(java_regex(node.expression.this)))
        if isinstance(node, exp.RegexpReplace):
            node.set("expression", exp.Literal.string(java_regex(node.expression.this)))
            node.set("replacement", exp.Literal.string(java_replacement(node.args["replacement"].this)))
            node.set("single_replace", None)
        return node

    return tree.transform(rule)


def _month_difference(tree: exp.Expression) -> exp.Expression:
    """date_diff('month', a, b) counts the month boundaries crossed in DuckDB (31 Jan → 1 Feb is 1); Spark's
    counts whole months (0). Both are the difference of year × 12 + month."""

    def months(value: exp.Expression) -> exp.Expression:
        year = exp.Anonymous(this="year", expressions=[value.copy()])
        return exp.Paren(
            this=exp.Add(
                this=exp.Mul(this=year, expression=exp.Literal.number(12)),
                expression=exp.Anonymous(this="month", expressions=[value.copy()]),
            )
        )

    def rule(node):
        if isinstance(node, exp.DateDiff) and node.text("unit").lower() == "month":
            return exp.Paren(this=exp.Sub(this=months(node.this), expression=months(node.expression)))
        return node

    return tree.transform(rule)


def _byte_length(tree: exp.Expression) -> exp.Expression:
    """strlen (bytes, in DuckDB) is Spark's octet_length."""

    def rule(node):
        if isinstance(node, exp.Anonymous) and node.name.lower() == "strlen":
            return exp.Anonymous(this="octet_length", expressions=node.expressions)
        return node

    return tree.transform(rule)


def _double_division(tree: exp.Expression) -> exp.Expression:
    def rule(node):
        if isinstance(node, exp.Div):
            for side in ("this", "expression"):
                node.set(side, exp.cast(node.args[side], exp.DataType.build("double")))
        return node

    return tree.transform(rule)


def _unordered_row_number(tree: exp.Expression) -> exp.Expression:
    def unordered(node) -> bool:
        return (
            isinstance(node, exp.Window)
            and isinstance(node.this, exp.RowNumber)
            and not node.args.get("partition_by")
            and not node.args.get("order")
        )

    def rule(node):
        # A key narrowed to 32 bits for DuckDB's memory stays 64 bits here: Spark's ids are not consecutive.
        narrowed = isinstance(node, exp.Cast) and node.to.is_type(*exp.DataType.INTEGER_TYPES) and unordered(node.this)
        if unordered(node) or narrowed:
            return exp.Anonymous(this="monotonically_increasing_id", expressions=[])
        return node

    return tree.transform(rule)


def _timezone(tree: exp.Expression) -> exp.Expression:
    def rule(node):
        if isinstance(node, exp.Anonymous) and node.name.lower() == "timezone":
            zone, value = node.expressions
            if not (isinstance(value, exp.Cast) and value.to.this == exp.DataType.Type.TIMESTAMPTZ):
                raise UnportableSQL("timezone(zone, value) translates to Spark only for a value cast to timestamptz")
            local = exp.Anonymous(this="from_utc_timestamp", expressions=[value, zone])
            return exp.cast(local, exp.DataType.build("timestamp", dialect="duckdb"))  # DuckDB's result: a naive timestamp
        return node

    return tree.transform(rule)


def _hash(tree: exp.Expression) -> exp.Expression:
    def rule(node):
        if isinstance(node, exp.Anonymous) and node.name.lower() == "hash":
            return exp.Anonymous(this="xxhash64", expressions=node.expressions)
        return node

    return tree.transform(rule)


def _temporal_text(tree: exp.Expression) -> exp.Expression:
    casts = [
        node
        for node in tree.find_all(exp.TryCast)
        if node.to.this in _TEMPORAL and not isinstance(node.this, exp.Cast)  # text, not a typed value re-cast
    ]
    for node in casts:
        text = node.this
        guard = exp.RegexpLike(this=text.copy(), expression=exp.Literal.string(TEMPORAL_TEXT))
        normalised = text.copy()
        for pattern, replacement in _NORMALISE:
            normalised = exp.RegexpReplace(
                this=normalised, expression=exp.Literal.string(pattern), replacement=exp.Literal.string(replacement)
            )
        guarded = exp.Case(ifs=[exp.If(this=guard, true=exp.TryCast(this=normalised, to=node.to.copy(), safe=True))])
        if node is tree:
            return guarded
        node.replace(guarded)
    return tree


RULES: tuple[Callable[[exp.Expression], exp.Expression], ...] = (
    _regular_expressions, _month_difference, _byte_length, _double_division, _unordered_row_number, _timezone, _hash, _temporal_text,
)  # fmt: skip


class Translator:
    """Translates the models' DuckDB SQL to Spark SQL, with the macros it was given."""

    def __init__(self) -> None:
        self.macros = Macros()
        self._cache: dict[str, str] = {}

    def add_macros(self, sql: str) -> None:
        self.macros.add(_strip_comments(sql))
        self._cache.clear()

    def __call__(self, sql: str, what: str = "query") -> str:
        if sql not in self._cache:
            tree = self.macros.expand(_parse(sql))
            _check(tree, what)
            for rule in RULES:
                tree = rule(tree)
            self._cache[sql] = tree.sql(dialect="spark", unsupported_level=ErrorLevel.RAISE)
        return self._cache[sql]


def _strip_comments(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", sql)
