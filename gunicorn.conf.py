"""gunicorn settings for `make serve`: several stateless workers, the app built once before forking."""

from pace_dash.settings import load_settings

_settings = load_settings()

bind = f"{_settings.host}:{_settings.port}"
workers = _settings.workers
# Build the app (and check the database) once in the master; workers fork from it.
preload_app = True
# A request that takes longer than this is stuck: the worker is replaced. The slowest honest
# request, a panel pack PDF, takes about a second after its browser has started (5 s the first time).
timeout = 60
graceful_timeout = 30
accesslog = "-"


def post_fork(_server, _worker):
    """Give each worker its own database connections instead of the master's."""
    import app as entry  # the preloaded app, already imported by the master

    entry.server.extensions["pace_dash"].store.engine.dispose(close=False)
