"""Command line: `python -m pace_dash init-db | demo | serve | import | export | db | backup`."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from pathlib import Path

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from pace_dash.domain.rules import load_rules_file
from pace_dash.domain.tracker import SHAPES
from pace_dash.security.users_cli import add_user_commands
from pace_dash.settings import TARGETS_FILE, Settings, SettingsError, load_settings
from pace_dash.store.backup import BackupError, backup_sqlite, sqlite_path
from pace_dash.store.cache import carry_data_version, clear_directory
from pace_dash.store.db import create_schema, drop_schema, make_engine
from pace_dash.store.demo import install_demo
from pace_dash.store.importer import IMPORT_STAGES, import_tracker
from pace_dash.store.migrations import current_revision, head_revision, new_revision
from pace_dash.store.queries import Store
from pace_dash.store.scope import Scope

log = logging.getLogger("pace_dash")


def init_db(settings: Settings, _args: argparse.Namespace) -> int:
    """Create the schema and load the default target rules."""
    from pace_dash.app import prepare_database  # imported here: Dash is slow to import

    prepare_database(settings)
    print("Database ready.")
    return 0


def demo(settings: Settings, args: argparse.Namespace) -> int:
    """Fill the database with the fictional demo data set."""
    engine = make_engine(settings.database_url)
    create_schema(engine)
    previous_version = Store(engine).data_version()
    if Store(engine).count_children(Scope.everything()):
        if args.if_empty:
            print("The database already has children; demo data not loaded.")
            return 0
        if not args.replace:
            print("The database already has children; --replace wipes it first.", file=sys.stderr)
            return 1
        drop_schema(engine)
        # The cache holds the old data: remove it. A running server's private cache is passed by
        # the data version instead, carried past the old one below.
        if settings.cache_dir is not None:
            clear_directory(settings.cache_dir)
    started = time.perf_counter()
    data = install_demo(
        engine,
        children=args.children,
        seed=args.seed,
        today=settings.effective_today(),
        rules=load_rules_file(TARGETS_FILE),
    )
    with Session(engine) as session, session.begin():
        carry_data_version(session, previous_version)
    elapsed = time.perf_counter() - started
    print(
        f"Demo data loaded: {len(data.children):,} children, {len(data.events):,} events, "
        f"{len(data.periods):,} periods in {elapsed:.1f} s."
    )
    return 0


def serve(settings: Settings, _args: argparse.Namespace) -> int:
    """Serve the dashboard with the development server."""
    from pace_dash.app import create_app  # imported here: Dash is slow to import

    app = create_app(settings)
    # Stopped with SIGTERM, exit as on Ctrl+C so exit handlers run: the private cache directory
    # (children's data) is removed rather than left behind.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"Serving the PACE dashboard on http://{settings.host}:{settings.port}/")
    app.run(host=settings.host, port=settings.port, debug=settings.debug)
    return 0


class ProgressBar:
    """A one-line progress bar over known stages, redrawn in place on a terminal, a line each elsewhere."""

    WIDTH = 24

    def __init__(self, stages: tuple[str, ...], stream=None):
        self.stages = stages
        self.stream = stream or sys.stdout
        self.started = time.perf_counter()

    def __call__(self, stage: str) -> None:
        """Show that the import has reached a stage."""
        done = self.stages.index(stage) + 1 if stage in self.stages else 0
        filled = self.WIDTH * done // len(self.stages)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        line = f"[{bar}] {done}/{len(self.stages)} {stage:<16} {time.perf_counter() - self.started:6.1f} s"
        on_terminal = self.stream.isatty()
        end = "\n" if not on_terminal or stage == self.stages[-1] else ""
        print(("\r" if on_terminal else "") + line, end=end, file=self.stream, flush=True)


def import_file(settings: Settings, args: argparse.Namespace) -> int:
    """Import a tracker file (CSV or XLSX) for one authority, in one transaction."""
    progress = ProgressBar(IMPORT_STAGES)

    try:
        data = Path(args.file).read_bytes()
    except OSError as error:
        print(f"Cannot read {args.file}: {error.strerror}", file=sys.stderr)
        return 2
    engine = make_engine(settings.database_url)
    create_schema(engine)
    report = import_tracker(
        engine,
        data,
        authority=args.authority,
        filename=args.file,
        today=settings.effective_today(),
        shape=args.shape,
        sheet=args.sheet,
        confirm=args.confirm,
        preview=args.preview,
        authority_name=args.authority_name,
        progress=progress,
    )
    print(report.summary())
    if report.errors:
        return 1
    return 3 if report.needs_confirmation and not args.preview else 0


def db_upgrade(settings: Settings, _args: argparse.Namespace) -> int:
    """Bring the database to the latest migration, creating its tables if it is new."""
    engine = make_engine(settings.database_url)
    before = current_revision(engine)
    create_schema(engine)
    after = current_revision(engine)
    if before == after:
        print(f"The database is already at the latest revision, {after}.")
    else:
        print(f"Database upgraded from {before or 'no revision'} to revision {after}, the latest.")
    return 0


def db_current(settings: Settings, _args: argparse.Namespace) -> int:
    """Say which revision the database is at; exit 1 when it is behind the latest."""
    current = current_revision(make_engine(settings.database_url))
    head = head_revision()
    if current == head:
        print(f"The database is at revision {current}, the latest.")
        return 0
    print(f"The database is at revision {current or 'none'}; the latest is {head}: run `db upgrade`.")
    return 1


def db_revision(_settings: Settings, args: argparse.Namespace) -> int:
    """Write the next migration from the differences between the models and the latest revision."""
    path = new_revision(args.message)
    if path is None:
        print("The models match the latest revision: no migration written.")
        return 1
    print(f"Wrote {path}: read it, tidy it, and run tests/store/test_migrations.py.")
    return 0


def backup(settings: Settings, args: argparse.Namespace) -> int:
    """Copy the live SQLite database to FILE, consistently, with SQLite's online backup API."""

    def progress(copied: int, total: int) -> None:
        print(f"  {copied:,} of {total:,} pages copied", flush=True)

    try:
        result = backup_sqlite(
            sqlite_path(settings.database_url), Path(args.file), force=args.force, progress=progress
        )
    except BackupError as error:
        print(f"Backup not made: {error}", file=sys.stderr)
        return 1
    print(f"Backed up {result.pages:,} pages ({result.size_bytes / 1_048_576:.1f} MB) to {result.path}.")
    return 0


def export_file(settings: Settings, args: argparse.Namespace) -> int:
    """Export one authority's children, events and periods as a tracker the importer reads back."""
    from pace_dash.domain.tracker_export import CSV, member_names, to_csv_zip, to_xlsx
    from pace_dash.store.importer import export_tracker

    tables = export_tracker(Store(make_engine(settings.database_url)), Scope.everything(), args.authority)
    if tables is None:
        print(f"No authority {args.authority.strip().upper()} in the database.", file=sys.stderr)
        return 1
    path = Path(args.file)
    file_format = args.format or ("xlsx" if path.suffix.lower() == ".xlsx" else CSV)
    try:
        path.write_bytes(to_csv_zip(tables, path.stem) if file_format == CSV else to_xlsx(tables))
    except OSError as error:
        print(f"Cannot write {args.file}: {error.strerror}", file=sys.stderr)
        return 2
    children, events, periods = (len(frame) for frame in tables.frames())
    inside = ", ".join(member_names(path.stem)) if file_format == CSV else "sheets Children, Events, Periods"
    print(f"Exported {children:,} children, {events:,} events and {periods:,} periods to {path} ({inside}).")
    print("Import them back in that order: children, events, periods.")
    return 0


def _add_export_command(commands) -> None:
    export_parser = commands.add_parser("export", help=export_file.__doc__)
    export_parser.add_argument("file", help="the file to write: a zip of CSV files, or an XLSX workbook")
    export_parser.add_argument("--authority", required=True, help="the local authority's code, e.g. GLM")
    export_parser.add_argument(
        "--format", choices=("csv", "xlsx"), help="csv (a zip of three files) or xlsx (default: from FILE)"
    )
    export_parser.set_defaults(run=export_file)


def _add_maintenance_commands(commands) -> None:
    db_parser = commands.add_parser("db", help="the database's schema migrations")
    db_commands = db_parser.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help=db_upgrade.__doc__).set_defaults(run=db_upgrade)
    db_commands.add_parser("current", help=db_current.__doc__).set_defaults(run=db_current)
    revision_parser = db_commands.add_parser("revision", help=db_revision.__doc__)
    revision_parser.add_argument("-m", "--message", required=True, help="what the migration changes")
    revision_parser.set_defaults(run=db_revision)
    backup_parser = commands.add_parser("backup", help=backup.__doc__)
    backup_parser.add_argument("file", help="the backup file to write")
    backup_parser.add_argument("--force", action="store_true", help="replace the file if it exists")
    backup_parser.set_defaults(run=backup)


def build_parser(settings: Settings) -> argparse.ArgumentParser:
    """Return the argument parser of every command."""
    parser = argparse.ArgumentParser(prog="python -m pace_dash", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("init-db", help=init_db.__doc__).set_defaults(run=init_db)
    demo_parser = commands.add_parser("demo", help=demo.__doc__)
    demo_parser.add_argument("--children", type=int, default=settings.demo_children, help="how many children")
    demo_parser.add_argument("--seed", type=int, default=settings.demo_seed, help="random seed")
    choice = demo_parser.add_mutually_exclusive_group()
    choice.add_argument("--if-empty", action="store_true", help="load only into a database with no children")
    choice.add_argument("--replace", action="store_true", help="wipe the database first")
    demo_parser.set_defaults(run=demo)
    commands.add_parser("serve", help=serve.__doc__).set_defaults(run=serve)
    import_parser = commands.add_parser("import", help=import_file.__doc__)
    import_parser.add_argument("file", help="the tracker file: CSV or XLSX")
    import_parser.add_argument("--authority", required=True, help="the local authority's code, e.g. GLM")
    import_parser.add_argument("--shape", choices=SHAPES, help="the file's shape (guessed from its headers)")
    import_parser.add_argument("--sheet", help="the XLSX sheet to read (default: the first)")
    import_parser.add_argument("--confirm", action="store_true", help="import even though there are warnings")
    import_parser.add_argument(
        "--preview", action="store_true", help="count what would change; write nothing"
    )
    import_parser.add_argument(
        "--authority-name", help="create the authority with this name if its code is new"
    )
    import_parser.set_defaults(run=import_file)
    _add_export_command(commands)
    _add_maintenance_commands(commands)
    add_user_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command and return its exit status."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"Settings error: {error}", file=sys.stderr)
        return 2
    args = build_parser(settings).parse_args(argv)
    if args.command == "demo" and not 1 <= args.children <= 20_000:
        print("--children must be between 1 and 20,000.", file=sys.stderr)
        return 2
    try:
        return args.run(settings, args)
    except OperationalError as error:
        # The driver's own words ("database is locked"), never the statement or its parameters.
        print(f"The database is busy or not answering ({error.orig}); nothing was changed.", file=sys.stderr)
        return 1
