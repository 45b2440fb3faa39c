"""The PACE child-timeline dashboard."""
