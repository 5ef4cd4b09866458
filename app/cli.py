"""`flask --app application …` commands: db upgrade, users create, worker, scheduler."""
from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from .config import PROJECT_ROOT


def alembic_config(database_url: str):
    from alembic.config import Config

    from .extensions import normalise_database_url

    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    # ConfigParser treats % as interpolation; escape it so URL-encoded passwords survive.
    cfg.set_main_option("sqlalchemy.url", normalise_database_url(database_url).replace("%", "%%"))
    cfg.attributes["configure_logging"] = False
    return cfg


def upgrade_database(database_url: str, revision: str = "head") -> None:
    from alembic import command

    if database_url.startswith("sqlite:///"):
        Path(database_url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(database_url), revision)


db_cli = AppGroup("db", help="Database schema (Alembic migrations).")
users_cli = AppGroup("users", help="Accounts.")


@db_cli.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION."""
    upgrade_database(current_app.config["DATABASE_URL"], revision)
    click.echo(f"database at {revision}")


@users_cli.command("create")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--role", type=click.Choice(["admin", "reviewer"]), default="reviewer", show_default=True)
@click.option("--name", "display_name", default="")
def users_create(email: str, password: str, role: str, display_name: str) -> None:
    """Create an account (the first one is usually --role admin)."""
    from .auth import service
    from .extensions import db

    try:
        user = service.create_user(db.session, email, password, role, display_name)
    except service.AccountError as exc:
        raise click.ClickException(exc.message) from exc
    db.session.commit()
    click.echo(f"created {user.role} {user.email} (id {user.id})")


@click.command("sections")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list (title, level, signal, text, …).")
def sections_command(path: Path, as_json: bool) -> None:
    """Show the sections the extractor finds in FILE."""
    import json

    from .documents.errors import IntakeError
    from .documents.extract import extract_sections
    from .documents.intake import vet

    try:
        sections = extract_sections(vet(path.name, path.read_bytes()))
    except IntakeError as exc:
        raise click.ClickException(f"{exc.message} ({exc.code})") from exc
    if as_json:
        click.echo(json.dumps([s.to_dict() for s in sections], ensure_ascii=False, indent=2))
        return
    shown: list[str] = []  # parent headings already printed
    for number, section in enumerate(sections, 1):
        for depth, parent in enumerate(section.parents):
            if shown[depth:depth + 1] != [parent]:
                shown[depth:] = [parent]
                click.echo(f"     {'  ' * depth}{parent}  [parent heading, no text of its own]")
        shown[len(section.parents):] = []
        indent = "  " * (section.level - 1)
        words = " ".join(section.text.split()[:8])
        click.echo(f"{number:>3}. {indent}{section.title}  [{section.signal}, level {section.level}, {len(section.text)} chars]")
        if section.reason:
            click.echo(f"     {indent}  why: {section.reason}")
        click.echo(f"     {indent}  {words}…")


@click.command("analyze")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--user", "email", default=None, help="Owner of the uploads (default: the first admin).")
@click.option("--timeout", default=1800, show_default=True, help="Seconds to wait for all analyses.")
@with_appcontext
def analyze_command(files: tuple[Path, ...], email: str | None, timeout: int) -> None:
    """Upload FILES, analyse every section, wait with a progress bar and print a summary per
    document. Uses running workers; with none running, works through the queue in this process."""
    import time

    from rq import SimpleWorker, Worker
    from sqlalchemy import select

    from .documents.errors import IntakeError
    from .documents.service import Upload, create_document
    from .extensions import db
    from . import fair_queue
    from .jobs import SERIALIZER, queue
    from .models import Document, User
    from .review import state
    from .review import service as review
    from .review.summary import summary_view
    from .storage import storage

    app = current_app._get_current_object()
    redis = app.extensions["redis"]
    query = select(User).where(User.email == email.lower()) if email else select(User).where(User.role == "admin").order_by(User.id)
    user = db.session.scalars(query).first()
    if user is None:
        raise click.ClickException("No such user; create one with `flask users create`." if email else "Create an admin first: flask users create EMAIL --role admin")
    documents = []
    for path in files:
        try:
            document = create_document(db.session, storage(), user, Upload(path.name, path.read_bytes()))
        except IntakeError as exc:
            raise click.ClickException(f"{path.name}: {exc.message}") from exc
        review.start_analyses(db.session, redis, document, None, user)
        documents.append(document.id)
    inline = not Worker.all(connection=redis)
    deadline = time.monotonic() + timeout
    total = sum(len(state.current_analyses(db.session, d)) for d in documents)
    with click.progressbar(length=total, label="Analysing") as bar:
        shown = 0
        while True:
            if inline:  # this process is the only worker: let every waiting analysis through at once
                fair_queue.feed(redis, extra_idle=fair_queue.MAX_MOVES)
                SimpleWorker([queue("analysis", redis)], connection=redis, serializer=SERIALIZER).work(burst=True)
            db.session.expire_all()
            analyses = [a for d in documents for a in state.current_analyses(db.session, d)]
            done = sum(1 for a in analyses if a.finished)
            bar.update(done - shown)
            shown = done
            if done == len(analyses) or time.monotonic() > deadline:
                break
            time.sleep(1)
    if inline:  # the summaries the settled documents asked for, written here too
        fair_queue.feed(redis, extra_idle=fair_queue.MAX_MOVES)
        SimpleWorker([queue("analysis", redis)], connection=redis, serializer=SERIALIZER).work(burst=True)
        db.session.expire_all()
    failed = 0
    for document_id in documents:
        document = db.session.get(Document, document_id)
        analyses = state.current_analyses(db.session, document_id)
        bad = [a for a in analyses if a.status != "completed"]
        failed += len(bad)
        written = summary_view(db.session, document)
        score = (f"risk score {written['risk_score']:g} ({written['verdict'].replace('_', ' ')}, {written['model']})"
                 if written["state"] == "completed" else "not scored" if written["state"] == "not_scored"
                 else f"summary {written['state']}")
        click.echo(f"{document.original_filename}: {document.status}, {score}, "
                   f"{len(analyses) - len(bad)}/{len(analyses)} sections analysed")
        for analysis in bad:
            click.echo(f"  section {analysis.section_id}: {analysis.status} {analysis.error_message or ''}".rstrip())
    if failed:
        raise SystemExit(1)


@click.command("worker")
@click.option("--queues", default="analysis,exports,maintenance", show_default=True)
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--processes", type=click.IntRange(min=1), default=None,
              help="Job processes to run (default: WORKER_PROCESSES).")
@click.option("--max-jobs", type=click.IntRange(min=1), default=None,
              help="Jobs a job process runs before a fresh one replaces it (default: WORKER_MAX_JOBS).")
@with_appcontext
def worker_command(queues: str, burst: bool, processes: int | None, max_jobs: int | None) -> None:
    """Run RQ job processes for the given queues under one supervisor."""
    from workers.worker import run_worker

    code = run_worker(current_app._get_current_object(), [q.strip() for q in queues.split(",") if q.strip()],
                      burst=burst, processes=processes, max_jobs=max_jobs)
    if code:
        raise SystemExit(code)


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Run the periodic-maintenance scheduler (safe to run on every instance: one leads)."""
    from workers.scheduler import run_scheduler

    run_scheduler(current_app._get_current_object())


def register_cli(app: Flask) -> None:
    app.cli.add_command(db_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(sections_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(analyze_command)
    app.cli.add_command(scheduler_command)
