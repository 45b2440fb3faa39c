"""Settings read once from PACE_* environment variables into one frozen object."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_PATH = PROJECT_ROOT / "data" / "pace.db"
TARGETS_FILE = PROJECT_ROOT / "data" / "targets.toml"
MIN_SECRET_KEY_BYTES = 32


class SettingsError(ValueError):
    """A PACE_* variable holds a value that cannot be used."""


@dataclass(frozen=True)
class Settings:
    """Every setting of the app; see the README for each variable."""

    database_url: str = f"sqlite:///{DEFAULT_DATABASE_PATH}"
    host: str = "127.0.0.1"
    port: int = 8050
    today: dt.date | None = None
    demo_children: int = 2000
    demo_seed: int = 2014
    debug: bool = False
    presentation: bool = False
    secret_key: bytes = b""
    workers: int = 3
    max_upload_mb: int = 10
    production: bool = False
    session_idle_minutes: int = 30
    session_max_hours: int = 10
    proxy_hops: int = 0  # reverse proxies in front of the app whose X-Forwarded-* headers to trust
    secret_key_configured: bool = False
    # Where query and computation results are cached for every worker; None: a private temporary
    # directory per server, shared by its gunicorn workers and removed when it stops.
    cache_dir: Path | None = None

    def effective_today(self) -> dt.date:
        """Return the fixed demo date when set, else the real date."""
        return self.today or dt.date.today()

    @property
    def max_upload_bytes(self) -> int:
        """Return the largest tracker file the import page accepts, in bytes."""
        return self.max_upload_mb * 1024 * 1024

    def production_problems(self) -> list[str]:
        """List what stops this configuration serving real children's data."""
        problems = []
        if not self.production:
            return problems
        if self.debug:
            problems.append("PACE_DEBUG is on")
        if not self.secret_key_configured or len(self.secret_key) < MIN_SECRET_KEY_BYTES:
            problems.append(
                f"PACE_SECRET_KEY is not set to a random value of {MIN_SECRET_KEY_BYTES}+ characters"
            )
        return problems

    @property
    def is_sqlite(self) -> bool:
        """Say whether the database is an embedded SQLite file."""
        return self.database_url.startswith("sqlite")


def _parse_int(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None


def _parse_positive(name: str, raw: str) -> int:
    value = _parse_int(name, raw)
    if value < 1:
        raise SettingsError(f"{name} must be at least 1, not {raw!r}")
    return value


def _parse_date(name: str, raw: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a date as YYYY-MM-DD, not {raw!r}") from None


def _parse_bool(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise SettingsError(f"{name} must be true or false, not {raw!r}")


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from PACE_* variables, falling back to the defaults."""
    env = os.environ if environ is None else environ
    defaults = Settings()
    today_raw = env.get("PACE_TODAY", "").strip()
    secret_key = env.get("PACE_SECRET_KEY", "").encode()
    return Settings(
        database_url=env.get("PACE_DATABASE_URL", "").strip() or defaults.database_url,
        host=env.get("PACE_HOST", "").strip() or defaults.host,
        port=_parse_int("PACE_PORT", env.get("PACE_PORT", str(defaults.port))),
        today=_parse_date("PACE_TODAY", today_raw) if today_raw else None,
        demo_children=_parse_int(
            "PACE_DEMO_CHILDREN", env.get("PACE_DEMO_CHILDREN", str(defaults.demo_children))
        ),
        demo_seed=_parse_int("PACE_DEMO_SEED", env.get("PACE_DEMO_SEED", str(defaults.demo_seed))),
        debug=_parse_bool("PACE_DEBUG", env.get("PACE_DEBUG", "false")),
        presentation=_parse_bool("PACE_PRESENTATION", env.get("PACE_PRESENTATION", "false")),
        # Without a configured key each process makes its own, so pseudonyms last as long as it runs.
        secret_key=secret_key or secrets.token_bytes(MIN_SECRET_KEY_BYTES),
        secret_key_configured=bool(secret_key),
        workers=_parse_int("PACE_WORKERS", env.get("PACE_WORKERS", str(defaults.workers))),
        max_upload_mb=_parse_positive(
            "PACE_MAX_UPLOAD_MB", env.get("PACE_MAX_UPLOAD_MB", str(defaults.max_upload_mb))
        ),
        production=_parse_bool("PACE_PRODUCTION", env.get("PACE_PRODUCTION", "false")),
        session_idle_minutes=_parse_positive(
            "PACE_SESSION_IDLE_MINUTES",
            env.get("PACE_SESSION_IDLE_MINUTES", str(defaults.session_idle_minutes)),
        ),
        session_max_hours=_parse_positive(
            "PACE_SESSION_MAX_HOURS", env.get("PACE_SESSION_MAX_HOURS", str(defaults.session_max_hours))
        ),
        proxy_hops=_parse_int("PACE_PROXY_HOPS", env.get("PACE_PROXY_HOPS", str(defaults.proxy_hops))),
        cache_dir=Path(env["PACE_CACHE_DIR"].strip()) if env.get("PACE_CACHE_DIR", "").strip() else None,
    )
