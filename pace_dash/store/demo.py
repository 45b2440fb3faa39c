"""Deterministic, fictional demo data: three made-up councils and their children's journeys.

Everything is drawn with one seeded generator, stage by stage over whole arrays (no loop per
child), so the same (children, seed, today) always gives the same data. The process of a case
(dates of the recommendation, panel, court) is drawn per sibling group, so brothers and sisters
share it; reviews, placements, ages and names are drawn per child.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd
from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from pace_dash.domain.catalogue import EVENTS
from pace_dash.domain.rules import RULE_COLUMNS
from pace_dash.store.accounts import utc_now
from pace_dash.store.db import bump_data_version, create_schema, load_default_rules
from pace_dash.store.schema import (
    Aim,
    Annotation,
    AppUser,
    Child,
    Event,
    LocalAuthority,
    Period,
    TargetRule,
    UserAuthority,
)


@dataclass(frozen=True)
class DemoData:
    """A generated demo data set, one frame per table (ids are the demo's own, from 1)."""

    authorities: pd.DataFrame
    children: pd.DataFrame
    events: pd.DataFrame
    periods: pd.DataFrame
    rule_overrides: pd.DataFrame
    annotations: pd.DataFrame
    aims: pd.DataFrame


@dataclass(frozen=True)
class DemoAuthority:
    """A fictional council and how its children's journeys are drawn."""

    code: str
    name: str
    share: float  # of all children
    rec_weeks_before: float  # median weeks accommodated -> recommendation before PACE_START
    rec_weeks_after: float  # the same once the PACE change has bedded in
    late_review_before: float  # share of late first and later LAC reviews before PACE_START
    late_review_after: float
    lodge_median_days: float  # ADM decision -> petition lodged


# Never real council names (domain.md): the demo must not be mistaken for real children.
AUTHORITIES: tuple[DemoAuthority, ...] = (
    DemoAuthority("GLM", "Glenmorven Council", 0.45, 46.0, 44.0, 0.20, 0.18, 100.0),
    DemoAuthority("STC", "Strathcairn Council", 0.35, 64.0, 30.0, 0.22, 0.06, 90.0),
    DemoAuthority("LAR", "Loch Ardmuir Council", 0.20, 50.0, 50.0, 0.20, 0.20, 65.0),
)
# The demo database's accounts (username, role, authorities, presenter), all with one password that
# the sign-in page shows: they exist in the demo database alone, so `make run` needs no set-up.
DEMO_ACCOUNTS = (
    ("demo-admin", "admin", (), False),
    ("demo-manager", "manager", ("STC",), False),
    ("demo-viewer", "viewer", ("GLM",), False),
    ("demo-presenter", "manager", ("GLM", "STC", "LAR"), True),
)
DEMO_PASSWORD = "fictional-children-only"
# Its Argon2id hash, made once: hashing on every demo load would cost a fifth of a second an account.
DEMO_PASSWORD_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$fH7dPRrSLwi+4ESSg6oJDQ$NiScpWJ4iUAVzVmf21l8FfzEWH4ctZbC0lU6TdU21yQ"
)
IMPROVING_CODE = "STC"  # "more than halved the time to a permanence recommendation, to 28 weeks"
LODGE_AIM_CODE = "LAR"  # sets itself a shorter aim for lodging in court
FIRST_ACCOMMODATED = dt.date(2014, 1, 1)
PACE_START = dt.date(2017, 4, 1)
LEGAL_ADVICE_PDSA = dt.date(2017, 9, 4)
LODGE_AIM_DATE = dt.date(2019, 4, 1)
CHANGE_RAMP_DAYS = 180  # a change takes about six months to bed in, so the run chart shifts, not jumps

ROUTE_CODES: tuple[str, ...] = ("home", "kinship", "po", "poa", "adoption")
# Drawn before re-entries turn to home and children of 10+ from adoption to PO, so that the
# recorded mix comes out near home 35%, kinship 20%, PO 8%, POA 12%, adoption 25%.
ROUTE_MIX: tuple[float, ...] = (0.28, 0.22, 0.03, 0.15, 0.32)
# Home decisions come sooner and legal routes later (Permanently Progressing: home ~9 months).
ROUTE_PACE: tuple[float, ...] = (0.65, 0.95, 1.15, 1.15, 1.15)
HOME, KINSHIP, PO, POA, ADOPTION = range(len(ROUTE_CODES))
ORDER_OF_ROUTE: tuple[str | None, ...] = (None, "kco", "po", "poa", "adoption_order")

SIBLING_SIZES: tuple[int, ...] = (1, 2, 3)
SIBLING_SIZE_MIX: tuple[float, ...] = (0.93, 0.05, 0.02)  # about 15% of children in a group
REENTRY_RATE = 0.105  # of groups accommodated 3+ years ago: about 8% of all children
HOME_FIRST_RATE = 0.20  # looked after at home first (domain.md: 20% at home)
YEAR = 365
MAX_AGE_DAYS = 16 * YEAR - 1  # up to 15 at the start

# Placements before the permanent one: how many (1-6), and what kind by age.
INTERIM_COUNTS: tuple[int, ...] = (1, 2, 3, 4, 5, 6)
INTERIM_COUNT_MIX: tuple[float, ...] = (0.80, 0.055, 0.04, 0.035, 0.035, 0.035)
INTERIM_KINDS: tuple[str, ...] = ("foster", "residential", "kinship", "other_community")
INTERIM_MIX_YOUNG: tuple[float, ...] = (0.80, 0.05, 0.09, 0.06)
INTERIM_MIX_OLDER: tuple[float, ...] = (0.55, 0.30, 0.08, 0.07)  # aged 10 or more
FIRST_STATUSES: tuple[str, ...] = ("s25", "cpo", "icso")
FIRST_STATUS_MIX: tuple[float, ...] = (0.45, 0.25, 0.30)

NOTE_RATE = 0.04
EVENT_NOTES: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {
        "accommodated": ("Emergency out-of-hours placement", "Placed by the out-of-hours team"),
        "lac_review": (
            "Parents did not attend",
            "Rescheduled: chair unavailable",
            "Health report not received in time",
            "Interpreter booked",
        ),
        "panel": ("Deferred from previous panel: report incomplete", "Panel asked for more on contact"),
        "petition_lodged": ("Legal services capacity", "Awaiting addresses for service"),
        "advice_hearing": ("Continued to a later date",),
    }
)
OUT_OF_AREA_RATE = 0.25  # of residential placements
ADM_BEFORE_PANEL_RATE = 0.0075  # of children with both: data-quality problems the app must show
MISSING_FIRST_REVIEW_RATE = 0.003

FIRST_NAMES: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {
        "F": ("Ailsa", "Brodie", "Catriona", "Eilidh", "Fenella", "Gillian", "Iona", "Kirsty", "Lorna",
              "Morag", "Niamh", "Orla", "Rhona", "Shona", "Skye", "Tamsin", "Una", "Wynne"),
        "M": ("Alasdair", "Blair", "Calum", "Dougal", "Euan", "Fraser", "Gregor", "Hamish", "Innes",
              "Lachlan", "Murdo", "Niall", "Ruaridh", "Struan", "Tormod", "Uisdean", "Wallace", "Zander"),
    }
)  # fmt: skip
# Made-up surnames built from place-name parts, so no combination names a real family.
LAST_NAMES: tuple[str, ...] = (
    "Ardcraggan", "Balnacraigie", "Brackenlea", "Corriebrae", "Craigmorrow", "Drumhallow",
    "Dunvarrick", "Fernieshaw", "Glassendrum", "Inverallan", "Kilbrackie", "Lochtarvie",
    "Mossgarvie", "Pitcraggan", "Rannochbeg", "Stravaig", "Tullochard", "Whinnyburn",
)  # fmt: skip

RULE_OVERRIDES: tuple[MappingProxyType, ...] = (
    MappingProxyType(
        {
            "la_code": IMPROVING_CODE,
            "key": "two_week_review",
            "label": "Two-week review",
            "from_code": "accommodated",
            "to_code": "review_2wk",
            "days": 14,
            "later_days": None,
            "applies_to": None,
            "closed_by": "lac_review,permanence_recommendation",
            "strength": "local aim: PACE change idea adopted",
            "source": "Strathcairn PACE aim (fictional demo)",
            "active": True,
            "effective_from": PACE_START,
        }
    ),
    MappingProxyType(
        {
            "la_code": LODGE_AIM_CODE,
            "key": "lodge_in_court",
            "label": "Lodge in court",
            "from_code": "adm_decision",
            "to_code": "petition_lodged",
            "days": 56,
            "later_days": None,
            "applies_to": "po,poa,adoption",
            "closed_by": "order_granted",
            "strength": "local aim: 8 weeks",
            "source": "Loch Ardmuir local aim (fictional demo)",
            "active": True,
            "effective_from": LODGE_AIM_DATE,
        }
    ),
)
ANNOTATIONS: tuple[tuple[str, dt.date, str, str], ...] = (
    (IMPROVING_CODE, PACE_START, "change", "PACE programme starts"),
    (IMPROVING_CODE, PACE_START, "pdsa", "Two-week LAC review after a child is accommodated"),
    (IMPROVING_CODE, LEGAL_ADVICE_PDSA, "pdsa", "Legal advice before the permanence planning review"),
    (LODGE_AIM_CODE, LODGE_AIM_DATE, "note", "Local aim: lodge in court within 8 weeks of the ADM decision"),
)
# Aims as PACE sites stated them: X% of children reach milestone M within its target by date D.
AIMS: tuple[tuple[str, str, int, dt.date, str], ...] = (
    (
        IMPROVING_CODE,
        "permanence_recommendation",
        90,
        dt.date(2018, 12, 31),
        "90% of children accommodated get a permanence recommendation within 26 weeks by December 2018",
    ),
    (
        IMPROVING_CODE,
        "first_review",
        95,
        dt.date(2018, 6, 30),
        "95% of children accommodated have their first LAC review within 6 weeks by June 2018",
    ),
    (
        LODGE_AIM_CODE,
        "lodge_in_court",
        80,
        dt.date(2020, 3, 31),
        "80% of petitions lodged in court within 8 weeks of the ADM decision by March 2020",
    ),
)

NAT = np.datetime64("NaT", "D")


def generate_demo(children: int, seed: int, today: dt.date) -> DemoData:
    """Generate the fictional demo data set of `children` children as known on `today`."""
    if children < 1:
        raise ValueError("the demo needs at least one child")
    if today < FIRST_ACCOMMODATED + dt.timedelta(days=YEAR):
        raise ValueError(f"today must be at least a year after {FIRST_ACCOMMODATED}")
    rng = np.random.default_rng(seed)
    now = np.datetime64(today, "D")
    units = _draw_units(rng, children, now)
    kids = _draw_children(rng, units)
    episodes = _draw_episodes(rng, units, kids, now)
    return DemoData(
        authorities=pd.DataFrame(
            {
                "id": np.arange(1, len(AUTHORITIES) + 1),
                "code": [authority.code for authority in AUTHORITIES],
                "name": [authority.name for authority in AUTHORITIES],
            }
        ),
        children=_children_frame(kids),
        events=_events_frame(rng, episodes),
        periods=_periods_frame(rng, episodes),
        rule_overrides=_rule_overrides_frame(),
        annotations=_annotations_frame(today),
        aims=_aims_frame(),
    )


# --- drawing helpers --------------------------------------------------------------------------


def _days(rng: np.random.Generator, low: int, high: int, n: int) -> np.ndarray:
    return rng.integers(low, high + 1, n)


def _late_mix(rng, n, p_late, on_time: tuple[int, int], late: tuple[int, int]) -> np.ndarray:
    return np.where(rng.random(n) < p_late, _days(rng, *late, n), _days(rng, *on_time, n))


def _lognormal_days(rng, median, sigma: float, low: int, high: int, n: int) -> np.ndarray:
    return np.clip(np.rint(median * rng.lognormal(0.0, sigma, n)), low, high).astype(np.int64)


def _authority_values(field: str, la: np.ndarray) -> np.ndarray:
    return np.array([getattr(authority, field) for authority in AUTHORITIES])[la]


def _day_count(later: np.ndarray, earlier: np.ndarray) -> np.ndarray:
    return (later - earlier).astype(np.int64)


def _valid(dates: np.ndarray) -> np.ndarray:
    return ~np.isnat(dates)


# --- sibling groups ("units") and children ------------------------------------------------------


def _draw_units(rng: np.random.Generator, children: int, now: np.datetime64) -> dict[str, np.ndarray]:
    sizes = rng.choice(SIBLING_SIZES, size=children, p=SIBLING_SIZE_MIX)
    count = int(np.searchsorted(np.cumsum(sizes), children)) + 1
    sizes = sizes[:count]
    sizes[-1] -= sizes.sum() - children
    first = np.datetime64(FIRST_ACCOMMODATED, "D")
    # Sorted so that child ids and case references follow the order children came into care.
    accommodated = np.sort(first + rng.integers(0, _day_count(now, first) + 1, count))
    la = rng.choice(len(AUTHORITIES), size=count, p=[authority.share for authority in AUTHORITIES])
    youngest_age = _draw_ages(rng, count)
    route = _draw_routes(rng, youngest_age)
    reentry = (accommodated <= now - 3 * YEAR) & (rng.random(count) < REENTRY_RATE)
    plan = _plan(rng, la, accommodated, np.where(reentry, HOME, route), HOME_FIRST_RATE)
    return {"size": sizes, "la": la, "youngest_age": youngest_age, "reentry": reentry, "plan": plan}


def _draw_routes(rng: np.random.Generator, youngest_age: np.ndarray) -> np.ndarray:
    route = rng.choice(len(ROUTE_CODES), size=len(youngest_age), p=ROUTE_MIX)
    # Children of 10 and over are rarely adopted: they stay on a Permanence Order instead.
    return np.where((youngest_age >= 10 * YEAR) & np.isin(route, (POA, ADOPTION)), PO, route)


def _draw_ages(rng: np.random.Generator, n: int) -> np.ndarray:
    # Most come into care young: 28% babies, 42% aged 1-5, the rest 6-15.
    band = rng.choice(3, size=n, p=(0.28, 0.42, 0.30))
    low = np.array((0, YEAR, 6 * YEAR))[band]
    high = np.array((YEAR - 1, 6 * YEAR - 1, MAX_AGE_DAYS))[band]
    return low + np.floor(rng.random(n) * (high - low + 1)).astype(np.int64)


def _draw_children(rng: np.random.Generator, units: dict) -> dict[str, np.ndarray]:
    sizes = units["size"]
    n = int(sizes.sum())
    unit = np.repeat(np.arange(len(sizes)), sizes)
    rank = np.arange(n) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    # Brothers and sisters are one to four years apart.
    spacing = np.where(rank > 0, _days(rng, 400, 1460, n), 0)
    older_by = spacing.copy()
    third = np.flatnonzero(rank == 2)
    older_by[third] += spacing[third - 1]
    age = np.minimum(units["youngest_age"][unit] + older_by, MAX_AGE_DAYS)
    date_of_birth = units["plan"]["looked_after"][unit] - age
    sex = np.where(rng.random(n) < 0.5, "F", "M")
    # Names step through the list by birth order, so brothers (or sisters) never share one.
    pick = rng.integers(0, 1 << 16, len(sizes))[unit] + 5 * rank
    female, male = np.array(FIRST_NAMES["F"]), np.array(FIRST_NAMES["M"])
    first_name = np.where(sex == "F", female[pick % len(female)], male[pick % len(male)])
    last_name = np.array(LAST_NAMES)[rng.integers(0, len(LAST_NAMES), len(sizes))][unit]
    birthday_18 = (
        (pd.DatetimeIndex(date_of_birth) + pd.DateOffset(years=18)).to_numpy().astype("datetime64[D]")
    )
    return {
        "unit": unit,
        "la": units["la"][unit],
        "date_of_birth": date_of_birth,
        "birthday_18": birthday_18,
        "sex": sex,
        "name": np.char.add(np.char.add(first_name, " "), last_name),
        "in_group": (sizes > 1)[unit],
    }


def _children_frame(kids: dict) -> pd.DataFrame:
    codes = np.array([authority.code for authority in AUTHORITIES])[kids["la"]]
    frame = pd.DataFrame({"la": kids["la"], "code": codes, "unit": kids["unit"]})
    number = frame.groupby("la").cumcount() + 1
    firsts = frame[kids["in_group"]].drop_duplicates("unit")
    group_number = pd.Series(firsts.groupby("la").cumcount().to_numpy() + 1, index=firsts["unit"])
    group = frame["code"] + "-SG" + frame["unit"].map(group_number).astype("Int64").astype(str).str.zfill(4)
    return pd.DataFrame(
        {
            "id": np.arange(1, len(frame) + 1),
            "la_id": kids["la"] + 1,
            "reference": frame["code"] + "-" + number.astype(str).str.zfill(5),
            "name": kids["name"],
            "date_of_birth": kids["date_of_birth"].astype("datetime64[ns]"),
            "sex": kids["sex"],
            "sibling_group": group.where(kids["in_group"], None),
        }
    )


# --- the journey of one episode, per sibling group ---------------------------------------------


def _plan(rng, la, accommodated, route, home_first_rate: float) -> dict[str, np.ndarray]:
    """Draw the planned dates of one episode per sibling group, as if nothing stopped it."""
    n = len(la)
    nothing = np.full(n, NAT)
    pace = np.datetime64(PACE_START, "D")
    improving = la == [authority.code for authority in AUTHORITIES].index(IMPROVING_CODE)
    after_pace = accommodated >= pace

    home_first = rng.random(n) < home_first_rate
    looked_after = np.where(home_first, accommodated - _days(rng, 14, 300, n), accommodated)
    planning_meeting = np.where(rng.random(n) < 0.5, accommodated + _days(rng, 0, 3, n), nothing)
    review_2wk = np.where(
        improving & after_pace & (rng.random(n) < 0.85), accommodated + _days(rng, 7, 16, n), nothing
    )

    before = _authority_values("rec_weeks_before", la)
    after = _authority_values("rec_weeks_after", la)
    progress = np.clip(_day_count(accommodated, pace) / CHANGE_RAMP_DAYS, 0.0, 1.0)
    median_days = (before + (after - before) * progress) * 7 * np.array(ROUTE_PACE)[route]
    recommendation = accommodated + _lognormal_days(rng, median_days, 0.5, 28, 1600, n)
    to_recommendation = _day_count(recommendation, accommodated)

    advice_rate = np.where(improving & (recommendation >= np.datetime64(LEGAL_ADVICE_PDSA, "D")), 0.85, 0.35)
    legal_advice = recommendation - _days(rng, 7, 42, n)
    legal_advice = np.where(
        (rng.random(n) < advice_rate) & (legal_advice > accommodated), legal_advice, nothing
    )

    # Legal status: s.25, CPO or interim CSO first, then a CSO away from home.
    first_status = np.array(FIRST_STATUSES)[rng.choice(len(FIRST_STATUSES), size=n, p=FIRST_STATUS_MIX)]
    first_status = np.where(home_first, "cso_away", first_status)  # the CSO at home is varied
    icso_from = np.where(
        first_status == "cpo",
        accommodated + _days(rng, 2, 8, n),
        np.where(
            (first_status == "s25") & (rng.random(n) < 0.5), accommodated + _days(rng, 30, 200, n), nothing
        ),
    )
    icso_from = np.minimum(
        icso_from, accommodated + np.maximum(1, (0.4 * to_recommendation).astype(np.int64))
    )
    icso_start = np.where(first_status == "icso", accommodated, icso_from)
    cso_from = np.minimum(
        icso_start + _days(rng, 20, 120, n), accommodated + (0.8 * to_recommendation).astype(np.int64)
    )
    cso_from = np.maximum(cso_from, icso_start + 1)
    on_cso = _valid(cso_from) | home_first

    legal = np.isin(route, (PO, POA, ADOPTION))
    panel = np.where(legal, recommendation + _late_mix(rng, n, 0.25, (35, 84), (85, 210)), nothing)
    adm_decision = panel + _late_mix(rng, n, 0.15, (3, 14), (15, 50))
    advice_hearing = np.where(on_cso & (rng.random(n) < 0.9), adm_decision + _days(rng, 14, 56, n), nothing)
    lodge = _lognormal_days(rng, _authority_values("lodge_median_days", la), 0.45, 21, 400, n)
    petition_lodged = np.fmax(adm_decision + lodge, advice_hearing + _days(rng, 7, 28, n))
    legal_order = petition_lodged + _lognormal_days(rng, 270.0, 0.35, 120, 700, n)

    kinship_order = recommendation + _days(rng, 120, 420, n)
    home_ceased = recommendation + _days(rng, 60, 180, n)
    # Many on a CSO go home on trial first; on s.25 going home ends being looked after.
    home_on = np.where(
        on_cso & (rng.random(n) < 0.6),
        np.maximum(recommendation + 7, home_ceased - _days(rng, 30, 120, n)),
        home_ceased,
    )
    order_granted = np.select([legal, route == KINSHIP], [legal_order, kinship_order], nothing)
    # PO and POA children stay looked after; the others cease when permanence is reached.
    ceased = np.select(
        [route == HOME, route == KINSHIP, route == ADOPTION],
        [
            home_ceased,
            kinship_order + _days(rng, 0, 42, n),
            legal_order + _days(rng, 0, 14, n),
        ],
        nothing,
    )
    ceased_reason = np.array(("home", "kinship", "other", "other", "adoption"))[route]

    matched = np.minimum(adm_decision + _days(rng, 30, 240, n), legal_order - 14)
    kinship_direct = rng.random(n) < 0.65
    kinship_from = np.where(
        kinship_direct,
        accommodated,
        accommodated
        + np.floor(rng.random(n) * np.maximum(_day_count(kinship_order, accommodated), 1)).astype(np.int64),
    )
    permanent_from = np.select(
        [route == HOME, route == KINSHIP, np.isin(route, (POA, ADOPTION))],
        [home_on, kinship_from, matched],
        nothing,
    )
    permanent_kind = np.array(("home", "kinship", "", "prospective_adopters", "prospective_adopters"))[route]
    final_status_from = np.select(
        [np.isin(route, (PO, POA, KINSHIP)), (route == HOME) & on_cso], [order_granted, home_on], nothing
    )
    final_status = np.array(("cso_home", "kco", "po", "poa", ""))[route]
    return {
        "la": la,
        "route": route,
        "home_first": home_first,
        "looked_after": looked_after,
        "accommodated": accommodated,
        "planning_meeting": planning_meeting,
        "review_2wk": review_2wk,
        "improving_era": improving & after_pace,
        "legal_advice": legal_advice,
        "permanence_recommendation": recommendation,
        "panel": panel,
        "adm_decision": adm_decision,
        "advice_hearing": advice_hearing,
        "petition_lodged": petition_lodged,
        "order_granted": order_granted,
        "ceased": ceased,
        "ceased_reason": ceased_reason,
        "first_status": first_status,
        "icso_from": icso_from,
        "cso_from": cso_from,
        "final_status": final_status,
        "final_status_from": final_status_from,
        "permanent_kind": permanent_kind,
        "permanent_from": permanent_from,
    }


def _draw_episodes(rng, units: dict, kids: dict, now: np.datetime64) -> dict[str, np.ndarray]:
    """Return one row per child and episode: the group's plan, cut at 18, ceasing and today."""
    first = {key: values[kids["unit"]] for key, values in units["plan"].items()}
    first = _close(first, kids, np.arange(len(kids["unit"])), now)

    # Re-entry: the first episode ended with a return home, then the group came back into care.
    returning = np.flatnonzero(units["reentry"])
    restart = units["plan"]["ceased"][returning] + _days(rng, 60, 540, len(returning))
    age_again = units["youngest_age"][returning] + _day_count(
        restart, units["plan"]["looked_after"][returning]
    )
    second_plan = _plan(
        rng,
        units["la"][returning],
        restart,
        _draw_routes(rng, age_again),
        0.0,  # looked after again on the day: an earlier date would fall in the first episode
    )
    position = np.full(len(units["size"]), -1)
    position[returning] = np.arange(len(returning))
    slot = position[kids["unit"]]
    child_restart = np.append(restart, NAT)[slot]  # slot -1: no re-entry, the appended NaT
    back = np.flatnonzero(
        (slot >= 0)
        & first["closed"]
        & (first["end_reason"] == "home")
        & (child_restart <= now - 30)
        & (child_restart + YEAR < kids["birthday_18"])
    )
    second = {key: values[slot[back]] for key, values in second_plan.items()}
    second = _close(second, kids, back, now)
    episodes = {key: np.concatenate([first[key], second[key]]) for key in first}
    episodes["age_days"] = _day_count(episodes["accommodated"], kids["date_of_birth"][episodes["child"]])
    _add_adm_before_panel(rng, episodes)
    return episodes


def _close(episode: dict, kids: dict, child: np.ndarray, now: np.datetime64) -> dict[str, np.ndarray]:
    """Add the child, the end of the episode (ceasing or 18th birthday) and the last date it shows."""
    birthday_18 = kids["birthday_18"][child]
    end = np.fmin(episode["ceased"], birthday_18)
    closed = end <= now
    return {
        **episode,
        "child": child,
        "end_reason": np.where(episode["ceased"] <= birthday_18, episode["ceased_reason"], "other"),
        "closed": closed,
        "end": np.where(closed, end, NAT),
        "cutoff": np.where(closed, end, now),
    }


def _add_adm_before_panel(rng: np.random.Generator, episodes: dict) -> None:
    # A deliberate data-quality problem: an ADM decision keyed with a date before its panel.
    cutoff = episodes["cutoff"]
    both = np.flatnonzero((episodes["panel"] <= cutoff) & (episodes["adm_decision"] <= cutoff))
    if len(both) == 0:
        return
    wrong = rng.choice(both, size=max(1, round(ADM_BEFORE_PANEL_RATE * len(both))), replace=False)
    episodes["adm_decision"][wrong] = episodes["panel"][wrong] - _days(rng, 3, 21, len(wrong))


# --- events ------------------------------------------------------------------------------------


def _events_frame(rng: np.random.Generator, episodes: dict) -> pd.DataFrame:
    cutoff = episodes["cutoff"]
    route_codes = np.array(ROUTE_CODES)[episodes["route"]]
    order_codes = np.array(ORDER_OF_ROUTE, dtype=object)[episodes["route"]]
    points = (
        ("looked_after", episodes["looked_after"], None),
        ("accommodated", episodes["accommodated"], None),
        ("planning_meeting", episodes["planning_meeting"], None),
        ("review_2wk", episodes["review_2wk"], None),
        ("legal_advice", episodes["legal_advice"], None),
        ("permanence_recommendation", episodes["permanence_recommendation"], route_codes),
        ("panel", episodes["panel"], None),
        ("adm_decision", episodes["adm_decision"], None),
        ("advice_hearing", episodes["advice_hearing"], None),
        ("petition_lodged", episodes["petition_lodged"], None),
        ("order_granted", episodes["order_granted"], order_codes),
        ("ceased", episodes["end"], episodes["end_reason"]),
    )
    parts = [_lac_reviews(rng, episodes)]
    for code, dates, attribute in points:
        row = np.flatnonzero(dates <= cutoff)
        parts.append(
            pd.DataFrame(
                {
                    "episode": row,
                    "code": code,
                    "on_date": dates[row],
                    "attribute": None if attribute is None else attribute[row],
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True)
    frame["child_id"] = episodes["child"][frame["episode"]] + 1
    frame["note"] = _notes(rng, frame["code"].to_numpy(), EVENT_NOTES)
    frame["rank"] = frame["code"].map({code: event.order for code, event in EVENTS.items()})
    frame = frame.sort_values(["child_id", "on_date", "rank"], kind="stable", ignore_index=True)
    frame["id"] = np.arange(1, len(frame) + 1)
    frame["on_date"] = frame["on_date"].astype("datetime64[ns]")
    frame["attribute"] = frame["attribute"].astype("str")
    return frame[["id", "child_id", "code", "on_date", "attribute", "note"]]


def _lac_reviews(rng: np.random.Generator, episodes: dict) -> pd.DataFrame:
    # The first review about 6 weeks in, the next about 3 months later, then every 6 months.
    accommodated = episodes["accommodated"]
    n = len(accommodated)
    columns = int(_day_count(episodes["cutoff"], accommodated).max()) // 140 + 3
    late = np.where(
        episodes["improving_era"],
        _authority_values("late_review_after", episodes["la"]),
        _authority_values("late_review_before", episodes["la"]),
    )[:, None]
    steps = np.empty((n, columns), dtype=np.int64)
    steps[:, 0] = _late_mix(rng, n, late[:, 0], (21, 42), (43, 110))
    steps[:, 1] = _late_mix(rng, n, late[:, 0], (70, 91), (92, 150))
    shape = (n, columns - 2)
    steps[:, 2:] = np.where(
        rng.random(shape) < late, rng.integers(183, 271, shape), rng.integers(140, 183, shape)
    )
    dates = accommodated[:, None] + np.cumsum(steps, axis=1)
    keep = dates <= episodes["cutoff"][:, None]
    # A deliberate data-quality problem: a few first reviews never recorded.
    has_first = np.flatnonzero(keep[:, 0])
    if len(has_first):
        missing = rng.choice(
            has_first, size=max(1, round(MISSING_FIRST_REVIEW_RATE * len(has_first))), replace=False
        )
        keep[missing, 0] = False
    row, _ = np.nonzero(keep)
    return pd.DataFrame({"episode": row, "code": "lac_review", "on_date": dates[keep], "attribute": None})


def _notes(rng: np.random.Generator, codes: np.ndarray, texts: MappingProxyType) -> np.ndarray:
    notes = np.full(len(codes), None, dtype=object)
    draw = rng.random(len(codes))
    for code, choices in texts.items():
        chosen = np.flatnonzero((codes == code) & (draw < NOTE_RATE))
        notes[chosen] = np.array(choices, dtype=object)[rng.integers(0, len(choices), len(chosen))]
    return notes


# --- periods -----------------------------------------------------------------------------------


def _periods_frame(rng: np.random.Generator, episodes: dict) -> pd.DataFrame:
    statuses = _chain(episodes, *_status_starts(episodes))
    placements = _chain(episodes, *_placement_starts(rng, episodes))
    frame = pd.concat(
        [statuses.assign(lane="legal_status"), placements.assign(lane="placement")], ignore_index=True
    )
    out_of_area = (frame["category"] == "residential") & (rng.random(len(frame)) < OUT_OF_AREA_RATE)
    frame["note"] = np.where(out_of_area, "Out-of-area placement", None)
    frame["child_id"] = episodes["child"][frame["episode"]] + 1
    frame = frame.sort_values(["child_id", "lane", "start_date"], kind="stable", ignore_index=True)
    frame["id"] = np.arange(1, len(frame) + 1)
    for column in ("start_date", "end_date"):
        frame[column] = frame[column].astype("datetime64[ns]")
    return frame[["id", "child_id", "lane", "category", "start_date", "end_date", "note"]]


def _status_starts(episodes: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(episodes["accommodated"])
    home_first = episodes["home_first"]
    starts = np.stack(
        [
            np.where(home_first, episodes["looked_after"], NAT),
            episodes["accommodated"],
            episodes["icso_from"],
            episodes["cso_from"],
            episodes["final_status_from"],
        ],
        axis=1,
    )
    kinds = np.stack(
        [
            np.full(n, "cso_home"),
            episodes["first_status"],
            np.full(n, "icso"),
            np.full(n, "cso_away"),
            episodes["final_status"],
        ],
        axis=1,
    )
    return starts, kinds, np.broadcast_to(np.arange(starts.shape[1]), starts.shape)


def _placement_starts(rng: np.random.Generator, episodes: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    accommodated = episodes["accommodated"]
    n = len(accommodated)
    permanent_from = episodes["permanent_from"]
    # Placements before the permanent one share the time up to it (or up to the cutoff).
    span_end = np.where(_valid(permanent_from), permanent_from, episodes["cutoff"])
    span = np.maximum(_day_count(span_end, accommodated), 0)
    count = rng.choice(INTERIM_COUNTS, size=n, p=INTERIM_COUNT_MIX)
    count = np.where(permanent_from == accommodated, 0, np.minimum(count, 1 + span // 45))
    most = max(INTERIM_COUNTS)
    moves = np.where(np.arange(1, most) < count[:, None], rng.random((n, most - 1)), 2.0)
    moves = np.sort(moves, axis=1)
    interim = np.concatenate(
        [accommodated[:, None], accommodated[:, None] + (moves * span[:, None]).astype(np.int64)], axis=1
    )
    interim = np.where(np.arange(most) < count[:, None], interim, NAT)
    older = episodes["age_days"] >= 10 * YEAR
    young_kind = rng.choice(len(INTERIM_KINDS), size=(n, most), p=INTERIM_MIX_YOUNG)
    older_kind = rng.choice(len(INTERIM_KINDS), size=(n, most), p=INTERIM_MIX_OLDER)
    kinds = np.array(INTERIM_KINDS)[np.where(older[:, None], older_kind, young_kind)]
    # Placements start at accommodation; time at home before it shows in the legal-status lane.
    starts = np.concatenate([interim, permanent_from[:, None]], axis=1)
    kinds = np.concatenate([kinds, episodes["permanent_kind"][:, None]], axis=1)
    return starts, kinds, np.broadcast_to(np.arange(starts.shape[1]), starts.shape)


def _chain(episodes: dict, starts: np.ndarray, kinds: np.ndarray, slots: np.ndarray) -> pd.DataFrame:
    """Turn start dates per episode (one column per slot) into periods that each run to the next."""
    row, column = np.nonzero(starts <= episodes["cutoff"][:, None])
    start = starts[row, column]
    order = np.lexsort((slots[row, column], start.view(np.int64), row))
    row, start, kind = row[order], start[order], kinds[row, column][order]
    same_next = np.append(row[1:] == row[:-1], False)
    end = np.where(same_next, np.append(start[1:], NAT), episodes["end"][row])
    # A period that a later one replaces on the same day never happened.
    kept = np.isnat(end) | (end > start)
    return pd.DataFrame(
        {"episode": row[kept], "category": kind[kept], "start_date": start[kept], "end_date": end[kept]}
    )


# --- site settings -----------------------------------------------------------------------------


def _rule_overrides_frame() -> pd.DataFrame:
    ids = {authority.code: number for number, authority in enumerate(AUTHORITIES, start=1)}
    rows = [
        {"la_id": ids[rule["la_code"]], **{column: rule[column] for column in RULE_COLUMNS}}
        for rule in RULE_OVERRIDES
    ]
    frame = pd.DataFrame(rows, columns=["la_id", *RULE_COLUMNS])
    frame["effective_from"] = pd.to_datetime(frame["effective_from"]).dt.as_unit("ns")
    return frame


def _annotations_frame(today: dt.date) -> pd.DataFrame:
    ids = {authority.code: number for number, authority in enumerate(AUTHORITIES, start=1)}
    rows = [
        {"la_id": ids[code], "on_date": on_date, "kind": kind, "text": text}
        for code, on_date, kind, text in ANNOTATIONS
        if on_date <= today
    ]
    frame = pd.DataFrame(rows, columns=["la_id", "on_date", "kind", "text"])
    frame["on_date"] = pd.to_datetime(frame["on_date"]).astype("datetime64[ns]")
    frame.insert(0, "id", np.arange(1, len(frame) + 1))
    return frame


def _aims_frame() -> pd.DataFrame:
    ids = {authority.code: number for number, authority in enumerate(AUTHORITIES, start=1)}
    frame = pd.DataFrame(
        [
            {"la_id": ids[code], "rule_key": rule_key, "percent": percent, "by_date": by_date, "label": label}
            for code, rule_key, percent, by_date, label in AIMS
        ],
        columns=["la_id", "rule_key", "percent", "by_date", "label"],
    )
    frame["by_date"] = pd.to_datetime(frame["by_date"]).astype("datetime64[ns]")
    return frame


# --- writing -----------------------------------------------------------------------------------


def _records(frame: pd.DataFrame) -> list[dict]:
    # Plain Python values for the drivers: dates as `date`, every missing value as None.
    columns = {}
    for name, series in frame.items():
        if pd.api.types.is_datetime64_any_dtype(series):
            columns[name] = series.to_numpy().astype("datetime64[D]").tolist()
        else:
            columns[name] = series.astype(object).where(series.notna(), None).tolist()
    names = list(columns)
    return [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def write_demo(engine: Engine, data: DemoData) -> None:
    """Write a demo data set in one transaction; refuse with ValueError if there are children already."""
    with Session(engine) as session, session.begin():
        if session.execute(select(Child.id).limit(1)).first() is not None:
            raise ValueError("the database already has children: load the demo only into an empty one")
        la_ids = _write_authorities(session, data.authorities)
        children = data.children.assign(la_id=data.children["la_id"].map(la_ids))
        _insert(session, Child, children.drop(columns="id"))
        # The table was empty, so every child in it is one of ours: find the ids the database gave.
        stored = pd.DataFrame(
            session.execute(select(Child.la_id, Child.reference, Child.id)).all(),
            columns=["la_id", "reference", "stored_id"],
        )
        child_ids = children.merge(stored, on=["la_id", "reference"]).set_index("id")["stored_id"]
        for model, frame in ((Event, data.events), (Period, data.periods)):
            _insert(
                session, model, frame.drop(columns="id").assign(child_id=frame["child_id"].map(child_ids))
            )
        present = set(session.execute(select(TargetRule.la_id, TargetRule.key)).all())
        overrides = data.rule_overrides.assign(la_id=data.rule_overrides["la_id"].map(la_ids))
        new = [pair not in present for pair in zip(overrides["la_id"], overrides["key"], strict=True)]
        _insert(session, TargetRule, overrides[new])
        annotations = data.annotations.drop(columns="id")
        _insert(session, Annotation, annotations.assign(la_id=annotations["la_id"].map(la_ids)))
        _insert(session, Aim, data.aims.assign(la_id=data.aims["la_id"].map(la_ids)))
        _write_demo_accounts(session)
        bump_data_version(session)


def _write_demo_accounts(session: Session) -> None:
    la_ids = dict(session.execute(select(LocalAuthority.code, LocalAuthority.id)).all())
    present = set(session.scalars(select(AppUser.username)))
    for username, role, codes, presenter in DEMO_ACCOUNTS:
        if username in present:
            continue
        user_id = session.scalar(
            insert(AppUser)
            .values(
                username=username, password_hash=DEMO_PASSWORD_HASH, role=role, presenter=presenter,
                disabled=False, demo=True, created_at=utc_now(),
            )
            .returning(AppUser.id)
        )  # fmt: skip
        for code in codes:
            session.execute(insert(UserAuthority).values(user_id=user_id, la_id=la_ids[code]))


def _insert(session: Session, model, frame: pd.DataFrame) -> None:
    # render_nulls keeps rows with and without missing values in one batch: many times faster.
    if len(frame):
        session.execute(insert(model).execution_options(render_nulls=True), _records(frame))


def _write_authorities(session: Session, authorities: pd.DataFrame) -> dict[int, int]:
    # An authority already set up (say, before its first import) is reused, found by its code.
    existing = dict(session.execute(select(LocalAuthority.code, LocalAuthority.id)).all())
    ids = {}
    for row in authorities.itertuples(index=False):
        if row.code not in existing:
            existing[row.code] = session.scalar(
                insert(LocalAuthority).values(code=row.code, name=row.name).returning(LocalAuthority.id)
            )
        ids[row.id] = existing[row.code]
    return ids


def install_demo(
    engine: Engine, *, children: int, seed: int, today: dt.date, rules: pd.DataFrame
) -> DemoData:
    """Create the schema and default rules, then generate and write the demo data; return it."""
    create_schema(engine)
    with Session(engine) as session, session.begin():
        load_default_rules(session, rules)
    data = generate_demo(children, seed, today)
    write_demo(engine, data)
    return data
