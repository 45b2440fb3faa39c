"""Static images of figures (PNG for slides, SVG and PDF for print) through kaleido's headless Chromium."""

from __future__ import annotations

import threading

import kaleido
import plotly.graph_objects as go
import plotly.io as pio

IMAGE_FORMATS: dict[str, str] = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}
SLIDE_WIDTH_PX = 1280
PNG_SCALE = 2  # sharp on a projector and in a printed pack

# kaleido's sync server keeps one Chromium per process, so an export takes a fraction of a second
# instead of starting a browser each time; but its request and answer queues are shared, so two
# threads exporting at once could each receive the other's image. One export at a time.
_EXPORT_LOCK = threading.Lock()


def figure_image(figure: go.Figure, image_format: str, width: int = SLIDE_WIDTH_PX) -> bytes:
    """Render a figure as PNG, SVG or PDF bytes, at its own height and a slide's width (or `width`)."""
    if image_format not in IMAGE_FORMATS:
        raise ValueError(f"unknown image format {image_format!r}")
    height = int(figure.layout.height or 500)
    scale = PNG_SCALE if image_format == "png" else 1
    options = {"format": image_format, "width": width, "height": height, "scale": scale}
    with _EXPORT_LOCK:
        # The headers plotly.io would pass per call; a running server takes them once, at start.
        kaleido.start_sync_server(headers=pio.defaults.headers, silence_warnings=True)
        return kaleido.calc_fig_sync(figure, opts=options)
