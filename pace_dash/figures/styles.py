"""Marker styles shared by the figures, so overdue time looks the same on every chart."""

from __future__ import annotations

from pace_dash.domain import catalogue


def overdue_marker(outline_width: float, hatch_size: int) -> dict:
    """Return the bar marker of overdue time: vermillion, hatched and outlined, readable without colour."""
    return {
        "color": catalogue.OVERDUE_COLOUR,
        "line": {"color": catalogue.OVERDUE_OUTLINE, "width": outline_width},
        "pattern": {
            "shape": catalogue.OVERDUE_PATTERN,
            "fgcolor": "white",
            "size": hatch_size,
            "solidity": 0.25,
        },
    }
