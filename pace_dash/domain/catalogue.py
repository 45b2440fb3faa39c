"""Event codes, lanes, routes, labels and colours: the one source of truth for the vocabulary."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class EventType:
    """A kind of point event on a child's journey."""

    code: str
    label: str
    order: int
    symbol: str
    lane: str  # the chart lane its markers sit in
    attribute: str | None = None  # what the event's attribute holds: route, order or reason


# The journey in order (domain.md, "The journey"). `order` sorts milestones within an episode.
EVENT_TYPES: tuple[EventType, ...] = (
    EventType("looked_after", "Becomes looked after", 1, "circle", "milestones"),
    EventType("accommodated", "Looked after and accommodated", 2, "square", "milestones"),
    EventType("planning_meeting", "Early planning meeting", 3, "circle", "reviews"),
    EventType("review_2wk", "Two-week LAC review", 4, "diamond", "reviews"),
    EventType("lac_review", "LAC review", 5, "diamond", "reviews"),
    EventType("legal_advice", "Legal advice", 7, "circle-cross", "reviews"),
    EventType("permanence_recommendation", "Permanence recommendation", 8, "star", "milestones", "route"),
    EventType("panel", "Adoption & Permanence Panel", 9, "triangle-up", "milestones"),
    EventType("adm_decision", "Agency Decision Maker decision", 10, "triangle-down", "milestones"),
    EventType("advice_hearing", "Advice hearing", 11, "hexagon", "reviews"),
    EventType("petition_lodged", "Application lodged in court", 12, "pentagon", "court"),
    EventType("order_granted", "Final order", 13, "star-diamond", "court", "order"),
    EventType("ceased", "Ceases to be looked after", 14, "x", "milestones", "reason"),
)
EVENTS: MappingProxyType[str, EventType] = MappingProxyType({event.code: event for event in EVENT_TYPES})
EVENT_CODES: tuple[str, ...] = tuple(EVENTS)

ROUTES: MappingProxyType[str, str] = MappingProxyType(
    {
        "home": "Return or remain home",
        "kinship": "Kinship Care Order",
        "po": "Permanence Order",
        "poa": "Permanence Order with authority to adopt",
        "adoption": "Adoption",
    }
)
# Routes that go through panel, ADM decision and court (domain.md, "Target rules").
LEGAL_ROUTES: frozenset[str] = frozenset({"po", "poa", "adoption"})

ORDERS: MappingProxyType[str, str] = MappingProxyType(
    {
        "po": "Permanence Order",
        "poa": "Permanence Order with authority to adopt",
        "kco": "Kinship Care Order",
        "adoption_order": "Adoption Order",
        "cso_terminated": "CSO terminated",
    }
)

CEASED_REASONS: MappingProxyType[str, str] = MappingProxyType(
    {
        "home": "Returned home",
        "kinship": "Kinship Care Order",
        "po": "Permanence Order",
        "adoption": "Adopted",
        "other": "Other (18+, moved away)",
    }
)


@dataclass(frozen=True)
class Category:
    """A kind of period in a lane, with its label and colour."""

    code: str
    label: str
    colour: str


# Colours from the Okabe-Ito and Paul Tol palettes, chosen to stay distinct with colour-blindness;
# bars also carry their label as text so colour is never the only cue.
PLACEMENTS: MappingProxyType[str, Category] = MappingProxyType(
    {
        c.code: c
        for c in (
            Category("home", "Home", "#009E73"),
            Category("kinship", "Kinship", "#56B4E9"),
            Category("foster", "Foster", "#E69F00"),
            Category("residential", "Residential", "#CC79A7"),
            Category("prospective_adopters", "Prospective adopters", "#0072B2"),
            Category("other_community", "Other community", "#F0E442"),
        )
    }
)
LEGAL_STATUSES: MappingProxyType[str, Category] = MappingProxyType(
    {
        c.code: c
        for c in (
            Category("s25", "s.25 voluntary", "#DDDDDD"),
            Category("cpo", "CPO", "#AA4499"),
            Category("icso", "Interim CSO", "#CC6677"),
            Category("cso_home", "CSO at home", "#44AA99"),
            Category("cso_away", "CSO away from home", "#117733"),
            Category("po", "Permanence Order", "#332288"),
            Category("poa", "PO with authority to adopt", "#88CCEE"),
            Category("kco", "Kinship Care Order", "#DDCC77"),
        )
    }
)
PERIOD_LANES: MappingProxyType[str, MappingProxyType[str, Category]] = MappingProxyType(
    {
        "legal_status": LEGAL_STATUSES,
        "placement": PLACEMENTS,
    }
)
LANE_LABELS: MappingProxyType[str, str] = MappingProxyType(
    {
        "legal_status": "Legal status",
        "placement": "Placement",
        "milestones": "Milestones",
        "reviews": "Reviews and hearings",
        "court": "Court",
        "process": "Permanence process",
    }
)
TARGETS_LANE = "targets"  # one row per target rule that applies, under the lanes above


@dataclass(frozen=True)
class Stage:
    """A waiting stage: the time after one milestone until the next is reached."""

    after_code: str
    label: str
    colour: str


# The stage a child is in once `after_code` is the latest milestone reached in the episode.
# Legal-route stages follow the recommendation; home and kinship routes go to "awaiting outcome".
PROCESS_STAGES: tuple[Stage, ...] = (
    Stage("accommodated", "Awaiting first review", "#C6DBEF"),
    Stage("lac_review", "Awaiting permanence recommendation", "#9ECAE1"),
    Stage("permanence_recommendation", "Awaiting panel", "#6BAED6"),
    Stage("panel", "Awaiting ADM decision", "#4292C6"),
    Stage("adm_decision", "Awaiting lodging in court", "#2171B5"),
    Stage("petition_lodged", "In court", "#08519C"),
    Stage("order_granted", "Order granted", "#08306B"),
)
AWAITING_OUTCOME = "Awaiting outcome"  # recommended to home or kinship, not yet ceased
CEASED_STAGE = "Ceased to be looked after"

# Overdue is vermillion with a hatch and a dark outline so it reads in greyscale too.
OVERDUE_COLOUR = "#D55E00"
OVERDUE_OUTLINE = "#6B2F00"
OVERDUE_PATTERN = "/"
WITHIN_TARGET_COLOUR = "#E5E5E5"
DUE_MARKER_COLOUR = "#B2182B"
MILESTONE_COLOUR = "#222222"
TODAY_COLOUR = "#444444"

STATUSES: tuple[str, ...] = ("met", "late", "overdue", "open", "n/a")
STATUS_LABELS: MappingProxyType[str, str] = MappingProxyType(
    {
        "met": "Met within target",
        "late": "Reached late",
        "overdue": "Overdue now",
        "open": "Not yet due",
        "n/a": "Does not apply",
    }
)


def event_label(code: str) -> str:
    """Return the practitioner's name for an event code."""
    event = EVENTS.get(code)
    return event.label if event else code


def attribute_label(code: str, attribute: str | None) -> str | None:
    """Return the label of an event's route, order or reason attribute."""
    if not attribute:
        return None
    kind = EVENTS[code].attribute if code in EVENTS else None
    labels = {"route": ROUTES, "order": ORDERS, "reason": CEASED_REASONS}.get(kind or "", {})
    return labels.get(attribute, attribute)


def category_label(lane: str, category: str) -> str:
    """Return the label of a placement or legal-status category."""
    found = PERIOD_LANES.get(lane, {}).get(category)
    return found.label if found else category


def category_colour(lane: str, category: str) -> str:
    """Return the colour of a placement or legal-status category."""
    found = PERIOD_LANES.get(lane, {}).get(category)
    return found.colour if found else "#999999"


def _relative_luminance(colour: str) -> float:
    channels = [int(colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(first: str, second: str) -> float:
    """Return the WCAG 2 contrast ratio of two #RRGGBB colours (1 to 21)."""
    lighter, darker = sorted((_relative_luminance(first), _relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def text_colour_on(background: str) -> str:
    """Return black or white, whichever reads better on a background colour."""
    return max(("#000000", "#FFFFFF"), key=lambda text: contrast_ratio(text, background))
