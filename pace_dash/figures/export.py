"""Static images of figures (PNG for slides, SVG and PDF for print) through kaleido's headless Chromium."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from types import MappingProxyType

import kaleido
import plotly.graph_objects as go

log = logging.getLogger(__name__)

IMAGE_FORMATS: MappingProxyType[str, str] = MappingProxyType(
    {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}
)
SLIDE_WIDTH_PX = 1280
PNG_SCALE = 2  # sharp on a projector and in a printed pack
RENDER_TIMEOUT_S = 60


class ExportError(RuntimeError):
    """An image could not be made in time."""


class ImageExporter:
    """One headless Chromium kept running for every image of a process, restarted if it hangs.

    kaleido's own sync server waits for work with a blocking call inside its event loop, so the
    browser's messages go unread between images and a later image can hang for ever. Here the loop
    runs freely on its own thread; each image waits at most RENDER_TIMEOUT_S, and a browser that
    stops answering is closed and started afresh on the next request. One image at a time.
    """

    def __init__(self, timeout_s: float = RENDER_TIMEOUT_S):
        self._timeout_s = timeout_s
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._kaleido: kaleido.Kaleido | None = None

    def render(self, figure: go.Figure, options: dict) -> bytes:
        """Return the figure as image bytes, starting the browser on first use."""
        with self._lock:
            if self._thread is not None and not self._thread.is_alive():
                # The loop's thread was stopped from outside (a test harness can do that): start over.
                log.warning("the export browser's thread had stopped; starting a new one")
                self._loop = self._thread = self._kaleido = None
            if self._kaleido is None:
                self._start()
            future = asyncio.run_coroutine_threadsafe(
                self._kaleido.calc_fig(figure, opts=options), self._loop
            )
            try:
                return future.result(timeout=self._timeout_s)
            except concurrent.futures.TimeoutError:
                future.cancel()
                log.error("image export timed out after %s s; restarting the browser", self._timeout_s)
                self._stop()
                raise ExportError("The image took too long to draw. Please try again.") from None

    def close(self) -> None:
        """Close the browser, if one is running."""
        with self._lock:
            self._stop()

    def _start(self) -> None:
        loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=loop.run_forever, name="image-export", daemon=True)
        self._thread.start()

        async def open_browser() -> kaleido.Kaleido:
            # No MathJax: it would be fetched from a CDN, and the figures use no LaTeX.
            browser = kaleido.Kaleido(mathjax=False, timeout=self._timeout_s)
            await browser.open()
            return browser

        self._loop = loop
        try:
            self._kaleido = asyncio.run_coroutine_threadsafe(open_browser(), loop).result(
                timeout=self._timeout_s
            )
        except Exception as error:
            self._stop()
            raise ExportError("The image renderer could not start. Please try again.") from error

    def _stop(self) -> None:
        loop, browser = self._loop, self._kaleido
        self._loop = self._thread = self._kaleido = None
        if loop is None:
            return
        if browser is not None:
            try:
                asyncio.run_coroutine_threadsafe(browser.close(), loop).result(timeout=10)
            except Exception:  # a hung browser may not close cleanly; the loop stops regardless
                log.warning("the export browser did not close cleanly", exc_info=True)
        loop.call_soon_threadsafe(loop.stop)


def figure_image(
    figure: go.Figure, image_format: str, width: int = SLIDE_WIDTH_PX, exporter: ImageExporter | None = None
) -> bytes:
    """Render a figure as PNG, SVG or PDF bytes, at its own height and the given width.

    With an exporter the image comes from its kept-running browser; without one, kaleido starts a
    browser for this image alone (fine for a script, slow for a server).
    """
    if image_format not in IMAGE_FORMATS:
        raise ValueError(f"unknown image format {image_format!r}")
    height = int(figure.layout.height or 500)
    scale = PNG_SCALE if image_format == "png" else 1
    options = {"format": image_format, "width": width, "height": height, "scale": scale}
    if exporter is not None:
        return exporter.render(figure, options)
    return kaleido.calc_fig_sync(figure, opts=options, kopts={"mathjax": False})
