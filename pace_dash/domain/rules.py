"""Target rules: load the defaults, apply site overrides, and say where each rule applies."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd

from pace_dash.domain.catalogue import EVENTS, ROUTES

RULE_COLUMNS = [
    "key",
    "label",
    "from_code",
    "to_code",
    "days",
    "later_days",
    "applies_to",
    "closed_by",
    "strength",
    "source",
    "active",
    "effective_from",
]


class RuleError(ValueError):
    """A target rule is malformed."""


def load_rules_file(path: Path) -> pd.DataFrame:
    """Read and check the default target rules of a TOML file."""
    with path.open("rb") as handle:
        raw = tomllib.load(handle).get("rule", [])
    rows = []
    for entry in raw:
        applies_to = entry.get("applies_to") or []
        closed_by = entry.get("closed_by") or []
        rows.append(
            {
                "key": entry["key"],
                "label": entry["label"],
                "from_code": entry["from"],
                "to_code": entry["to"],
                "days": entry["days"],
                "later_days": entry.get("later_days"),
                "applies_to": ",".join(applies_to) or None,
                "closed_by": ",".join(closed_by) or None,
                "strength": entry["strength"],
                "source": entry["source"],
                "active": entry.get("active", True),
                "effective_from": entry.get("effective_from"),
            }
        )
    frame = pd.DataFrame(rows, columns=RULE_COLUMNS)
    frame["effective_from"] = pd.to_datetime(frame["effective_from"]).dt.as_unit("ns")
    check_rules(frame)
    return frame


def check_rules(rules: pd.DataFrame) -> None:
    """Raise RuleError naming the first problem in a rules frame."""
    for row in rules.itertuples(index=False):
        closers = row.closed_by.split(",") if isinstance(row.closed_by, str) else []
        for code in (row.from_code, row.to_code, *closers):
            if code not in EVENTS:
                raise RuleError(f"rule {row.key!r}: unknown event code {code!r}")
        if int(row.days) <= 0:
            raise RuleError(f"rule {row.key!r}: days must be positive")
        if row.from_code == row.to_code and pd.isna(row.later_days):
            raise RuleError(f"rule {row.key!r}: a repeating rule needs later_days")
        routes = row.applies_to.split(",") if isinstance(row.applies_to, str) else []
        for route in routes:
            if route not in ROUTES:
                raise RuleError(f"rule {row.key!r}: unknown route {route!r}")
    if rules["key"].duplicated().any():
        raise RuleError("rule keys must be unique")


def resolve_rules(rules: pd.DataFrame, la_ids: list[int]) -> pd.DataFrame:
    """Return one row per (authority, rule): the site's override where it has one, else the default.

    `rules` holds national defaults (la_id missing) and site overrides (la_id set), as stored in
    the target_rule table. The result has an `overridden` column saying which rows are a site's.
    """
    national = rules[rules["la_id"].isna()].drop(columns="la_id")
    sites = pd.DataFrame({"la_id": pd.Series(la_ids, dtype="int64")})
    defaults = sites.merge(national, how="cross").assign(overridden=False)
    overrides = rules[rules["la_id"].notna()].astype({"la_id": "int64"}).assign(overridden=True)
    overrides = overrides[overrides["la_id"].isin(la_ids)]
    combined = pd.concat([overrides, defaults], ignore_index=True)
    resolved = combined.drop_duplicates(subset=["la_id", "key"], keep="first")
    return resolved.sort_values(["la_id", "key"], kind="stable").reset_index(drop=True)


def exploded(rules: pd.DataFrame, column: str, into: str) -> pd.DataFrame:
    """Explode a comma-separated list column into (la_id, key, item) rows; empty lists give none."""
    listed = rules[rules[column].notna()][["la_id", "key", column]]
    items = listed.assign(**{into: listed[column].str.split(",")}).explode(into)
    return items.drop(columns=column).reset_index(drop=True)
