"""`cakupan`: the command-line front door. Every command reads the same settings (CAKUPAN_* variables)."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import secrets
import sys
import time
from pathlib import Path

from cakupan.platform.state_folder import make_private_file
from cakupan.settings import Settings, load_settings

DEMO_DATE = dt.date(2026, 11, 20)
# The pseudonymisation key `make run` makes, under CAKUPAN_HOME; `run` and `backfill` use it when no key is set.
DEMO_KEY_FILE = "demo_pii_key"
SUMMARY_PASSWORD_HELP = "print the BI role's password in the summary's URL (default: ***)"


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def _fail(message: str) -> int:
    print(f"cakupan: error: {message}", file=sys.stderr)
    return 1


def _shown(url: str, args: argparse.Namespace) -> str:
    """A URL as a command prints it: its password masked unless --show-password asked for it."""
    from cakupan.platform.warehouse import masked

    return url if getattr(args, "show_password", False) else masked(url)


def cmd_warehouse(settings: Settings, args: argparse.Namespace) -> int:
    from cakupan.platform import roles, warehouse

    if args.action == "setup":
        if settings.embedded:
            warehouse.embedded(settings).start()
        temporary_left_to_public = roles.setup(settings)
        print(f"Roles {', '.join(warehouse.role_user(r) for r in warehouse.ROLES)} and their grants are in place.")
        if temporary_left_to_public:
            print(f"Warning: PUBLIC may still create temporary tables in {', '.join(temporary_left_to_public)}, "
                  "cakupan_bi included: the setup account may not change that. Ask the server's DBA to run "
                  "`REVOKE TEMPORARY ON DATABASE <name> FROM PUBLIC` on each (docs/commands.md, \"Warehouse roles\").")
        return 0
    if settings.warehouse_url:
        if args.action in ("start", "stop"):
            print(f"CAKUPAN_WAREHOUSE_URL is set: using that server, nothing to {args.action}.")
        if args.action == "status":
            print(_shown(settings.warehouse_url, args))
        if args.action == "url":
            print(_shown(warehouse.warehouse_url(settings, args.role), args))
        return 0
    server = warehouse.embedded(settings)
    if args.action == "start":
        _ensure_warehouse(settings)
        print(_shown(warehouse.warehouse_url(settings, args.role), args))
    elif args.action == "stop":
        print("stopped" if server.stop() else "not running")
    elif args.action == "status":
        if server.is_running():
            print(f"running: {_shown(warehouse.warehouse_url(settings, args.role), args)}")
        else:
            print(f"not running (data in {server.pgdata})")
            return 3
    elif args.action == "url":
        print(_shown(warehouse.warehouse_url(settings, args.role), args))
    return 0


def _ensure_warehouse(settings: Settings) -> None:
    """The embedded server running, with its roles and grants in place. Another server was set up once by
    `cakupan warehouse setup` (the deployment's init job), which needs an account that may create roles; it is
    only checked here."""
    from cakupan.platform import roles, warehouse

    if settings.embedded:
        warehouse.embedded(settings).start()
        roles.setup(settings)
    else:
        warehouse.check_server(settings)


def cmd_reference(settings: Settings, args: argparse.Namespace) -> int:
    from cakupan.platform import db
    from cakupan.reference.loader import load_reference

    _ensure_warehouse(settings)
    with db.connect(settings, "admin") as conn:
        db.apply_schema(conn)
        summary = load_reference(conn, settings)
    print(
        f"Reference: {summary.provinces} provinces, {summary.districts} districts, {summary.subdistricts} "
        f"subdistricts, {summary.villages:,} villages, {summary.branches} branches, "
        f"{summary.employed_population_rows} employed-population rows, {summary.employers:,} employers"
        + (f" (reloaded: {', '.join(summary.reloaded)})" if summary.reloaded else " (unchanged)")
    )
    return 0


def cmd_generate(settings: Settings, args: argparse.Namespace) -> int:
    from cakupan.sample.generate import generate, generate_next_night

    started = time.monotonic()
    if args.next_night:
        before = args.date - dt.timedelta(days=1)
        following = generate_next_night(args.out / "landing", before, changed_share=args.changed, seed=args.seed)
        print(f"Generated the night of {args.date} from {before}'s for {following.branches} branches in "
              f"{time.monotonic() - started:.1f}s: {following.participants:,} participants, {following.changed:,} "
              f"of them changed, {following.payments:,} payments\n  landing:   {following.landing_root}")
        return 0
    summary = generate(
        args.out, args.date, branches=args.branches, participants=args.participants, seed=args.seed,
        cache_dir=settings.cache_dir, national=args.national,
    )
    print(
        f"Generated {summary.participants:,} participants, {summary.payments:,} payments and "
        f"{summary.employers:,} employers for {summary.branches} branches in {time.monotonic() - started:.1f}s:\n"
        f"  landing:   {summary.landing_root}\n  reference: {summary.reference_root}"
    )
    return 0


def _quiet_airflow(verbose: bool) -> None:
    """Airflow logs every task in detail; on a terminal show Cakupan's own progress and warnings only."""
    if not verbose:
        os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
        os.environ.setdefault(
            "AIRFLOW__LOGGING__NAMESPACE_LEVELS",
            "airflow.task.operators.cakupan=INFO py.warnings=ERROR",
        )


def _pii_key_or_demo_key(settings: Settings) -> Settings | None:
    """The settings with a pseudonymisation key: CAKUPAN_PII_KEY or the Airflow connection, else the key
    `make run` made (said in one line, so nobody mistakes a demo warehouse for a real one); None without any."""
    from cakupan.transform import nightly

    if nightly.pii_key(settings):
        return settings
    demo_key = settings.home / DEMO_KEY_FILE
    if not demo_key.is_file():
        return None
    os.environ["CAKUPAN_PII_KEY"] = demo_key.read_text().strip()
    print(f"CAKUPAN_PII_KEY is unset: using the demo's pseudonymisation key in {demo_key}.", flush=True)
    return load_settings()


def _no_key_message(settings: Settings) -> str:
    return ("no pseudonymisation key: set CAKUPAN_PII_KEY (a long random secret, kept out of git, e.g. "
            "`export CAKUPAN_PII_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')`; keep it: "
            "every later night needs the same key) or the Airflow connection `cakupan_pii_key`. "
            f"`make run` makes a demo key in {settings.home / DEMO_KEY_FILE}, which later runs then use.")


def _report_run(settings: Settings, snapshot_date: dt.date, *, verbose: bool, docs: bool = True) -> int:
    from cakupan.orchestration.dag_run import cut_short, run_nightly
    from cakupan.orchestration.night_output import progress_only

    print(f"Running cakupan_nightly for {snapshot_date} through Airflow ...", flush=True)
    started = time.time()
    log_path = None if verbose else settings.home / "runs" / f"cakupan-run-{snapshot_date}-{int(started)}.log"
    try:
        with contextlib.nullcontext() if verbose else progress_only(log_path):
            run = run_nightly(settings, snapshot_date, docs=docs)
    except Exception as error:  # noqa: BLE001 - a night cut short by the warehouse or Airflow going away
        return _fail(cut_short(settings, snapshot_date, started, error, log_path))
    print(run.task_summary())
    if not run.succeeded:
        if stopped := cut_short(settings, snapshot_date, started, None, log_path):
            return _fail(stopped)
        where = f" (Airflow's log of the night: {log_path})" if log_path else ""
        return _fail(f"the nightly run for {snapshot_date} ended {run.state}{where}.\n{run.failure_summary()}")
    return 0


def _print_summary(settings: Settings, snapshot_date: dt.date, args: argparse.Namespace) -> None:
    from cakupan.platform import db
    from cakupan.platform.warehouse import warehouse_url
    from cakupan.site.summary import coverage_summary

    with db.connect(settings, "bi") as conn:
        print("\n" + coverage_summary(conn, snapshot_date))
    reveal = "" if args.show_password else " (password: `cakupan warehouse url --role bi --show-password`)"
    print(f"\nWarehouse for BI tools (psql, Metabase, Superset, Power BI; read-only role cakupan_bi){reveal}:\n"
          f"  {_shown(warehouse_url(settings, 'bi'), args)}")
    print(f"Docs site:  {settings.docs_dir / 'index.html'}")
    print(f"Rejection reports for branches: {settings.reports_root}")


def _prepare_nights(settings: Settings, args: argparse.Namespace, first: dt.date, last: dt.date,
                    options: tuple[str, str]) -> Settings | int:
    """Before anything is read: the dates refused, the key found, Airflow quiet, the warehouse up."""
    from cakupan.orchestration.dag_run import refusal

    for day, option in ((first, options[0]), (last, options[1])):
        if reason := refusal(day, option):
            return _fail(reason)
    keyed = _pii_key_or_demo_key(settings)
    if keyed is None:
        return _fail(_no_key_message(settings))
    _quiet_airflow(args.verbose)
    _ensure_warehouse(keyed)
    return keyed


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    prepared = _prepare_nights(settings, args, args.date, args.date, ("--date", "--date"))
    if isinstance(prepared, int):
        return prepared
    status = _report_run(prepared, args.date, verbose=args.verbose)
    if status == 0:
        _print_summary(prepared, args.date, args)
    return status


def cmd_backfill(settings: Settings, args: argparse.Namespace) -> int:
    """Rebuild a range of dates in order, each through Airflow like a scheduled night."""
    if args.end < args.start:
        return _fail(f"--end {args.end} is before --start {args.start}")
    prepared = _prepare_nights(settings, args, args.start, args.end, ("--start", "--end"))
    if isinstance(prepared, int):
        return prepared
    day = args.start
    while day <= args.end:
        print(f"Backfill: {day}", flush=True)
        # The docs site shows the last night; building it for every date of the range would be overwritten.
        status = _report_run(prepared, day, verbose=args.verbose, docs=day == args.end)
        if status != 0:
            return status
        day += dt.timedelta(days=1)
    _print_summary(prepared, args.end, args)
    return 0


def cmd_delivery(settings: Settings, args: argparse.Namespace) -> int:
    """Withdraw an accepted delivery: kept in the audit trail, no longer counted (src/cakupan/ingest/withdrawal.py)."""
    from cakupan.ingest.withdrawal import describe, withdraw
    from cakupan.platform import db

    _ensure_warehouse(settings)
    with db.connect(settings, "admin") as conn:
        db.apply_schema(conn)
        done = withdraw(conn, args.kode_cabang, args.export_date, args.reason)  # WithdrawalError: a UserError
    print(describe(done))
    return 0


def cmd_award(settings: Settings, args: argparse.Namespace) -> int:
    """The committee's sign-off of an award year (src/cakupan/transform/award_finalisation.py), or what another
    rubric would give (award_what_if.py)."""
    from cakupan.transform.award_finalisation import finalise

    if args.action == "what-if":
        return _award_what_if(settings, args)
    if not args.by:
        return _fail("award finalise needs --by NAME: whoever signs the year off (it is recorded).")
    _ensure_warehouse(settings)
    print(finalise(settings, args.year, args.by, supersede=args.supersede).describe())
    try:  # the reviewers' site says final at once too; it is rebuilt after every night anyway
        index = _build_docs(settings, None)
    except Exception as error:  # noqa: BLE001 - the sign-off stands; only the site waits for the next night
        print(f"Warning: the docs site was not rebuilt ({error}); the next night's build shows the year as final.",
              file=sys.stderr)
    else:
        if index:
            print(f"Docs site rebuilt: {index}")
    return 0


def _award_what_if(settings: Settings, args: argparse.Namespace) -> int:
    from cakupan.site.what_if_page import default_folder, write_report
    from cakupan.transform.award_what_if import summary, what_if

    if not args.rubric:
        return _fail("award what-if needs --rubric FILE: the rubric to compare with the published one.")
    _ensure_warehouse(settings)
    result = what_if(settings, args.rubric, args.year)
    written = write_report(settings, result, args.out or default_folder(settings, args.year))
    print("\n".join(summary(result)))
    print("Nothing was published. Report:\n" + "\n".join(f"  {path}" for path in written))
    return 0


def cmd_airflow(settings: Settings, args: argparse.Namespace) -> int:
    """Airflow's services on this machine (api-server, scheduler, dag-processor, triggerer; with Celery, the
    broker and the workers too)."""
    from cakupan.platform import airflow_services

    if args.action == "down":
        airflow_services.down(settings)
        return 0
    if args.workers is not None and args.executor != "celery":
        return _fail("--workers needs --executor celery: the LocalExecutor runs the tasks in the scheduler.")
    _ensure_warehouse(settings)
    stack = airflow_services.up(settings, executor=args.executor, workers=args.workers or 0)
    password = stack.password if args.show_password else "*** (`cakupan airflow up --show-password` prints it)"
    executor = (f"CeleryExecutor, {stack.workers} workers" if stack.executor == "celery" else "LocalExecutor")
    print(f"Airflow is up ({executor}): {stack.url}\n  login: {stack.username} / {password}\n"
          f"  REST API: {stack.url}/api/v2 (token: POST {stack.url}/auth/token with that login)\n"
          f"  logs: {settings.airflow_home / 'logs'}\n  stop it with `cakupan airflow down`.")
    return 0


def cmd_superset(settings: Settings, args: argparse.Namespace) -> int:
    """The shipped Superset dashboard: imported into a Superset, or its ZIP; Superset's own environment."""
    from cakupan.bi import superset
    from cakupan.platform.warehouse import warehouse_url

    if args.action == "venv":
        print(superset.ensure_venv(settings) / "bin" / "superset")
        return 0
    url = args.url or warehouse_url(settings, "bi")
    if args.action == "bundle":
        out = superset.write_bundle(settings, url, args.out.resolve())
        print(f"Dashboard bundle: {out} (it holds the warehouse's password: readable by you only).\n"
              f"Import it with `superset import-dashboards -p {out} -u USER`, or Dashboards > Import in Superset.")
        return 0
    superset.import_dashboard(settings, url, args.username, args.superset)
    where = superset.dashboard_path(settings)
    print(f"Imported the dashboard into Superset as {args.username}: <your Superset>{where}\n"
          f"  its database connection Cakupan, when new: {_shown(superset.superset_url(url), args)} (a Superset that "
          "had it already keeps its own: docs/bi.md, \"Importing again\")")
    return 0


def cmd_bench(settings: Settings, args: argparse.Namespace) -> int:
    from cakupan.bench.bench import run_bench, write_report

    _ensure_warehouse(settings)
    result = run_bench(settings, participants=args.participants, repeats=args.repeats)
    json_path, md_path = write_report(result, settings.project_root / "docs")
    print(md_path.read_text())
    print(f"Written: {json_path} and {md_path}")
    return 0


def cmd_docs(settings: Settings, args: argparse.Namespace) -> int:
    """Build the reviewers' docs site from the published marts, or serve the built site on this machine."""
    if args.action == "serve":
        return _serve(settings.docs_dir, args.port)
    _ensure_warehouse(settings)
    index = _build_docs(settings, args.date)
    if index is None:
        return _fail("no night has run yet: `cakupan run --date D` first, or pass --date")
    print(f"Docs site built: {index}\nOpen it from the file system, or run `cakupan docs serve`.")
    return 0


def _build_docs(settings: Settings, day: dt.date | None) -> Path | None:
    """The docs site for `day`, by default the last night that ran a gate (its verdicts go on the site with the
    published figures); None when no night has run."""
    import psycopg

    from cakupan.platform.warehouse import warehouse_url
    from cakupan.site.docs_site import build_docs_site

    if day is None:
        with psycopg.connect(warehouse_url(settings, "transformer")) as conn:
            day = conn.execute("SELECT max(snapshot_date) FROM audit.gate_results").fetchone()[0]
        if day is None:
            return None
    return build_docs_site(settings, day)


def _serve(root: Path, port: int) -> int:
    import functools
    import http.server

    if not (root / "index.html").is_file():
        return _fail(f"no docs site in {root}: run `cakupan docs build` first")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        print(f"Serving {root} at http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops)", flush=True)
        server.serve_forever()
    return 0


def _demo_key(settings: Settings) -> str:
    path = settings.home / DEMO_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        make_private_file(path)
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip()


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    """What `make run` does: warehouse, reference, a sample night, the DAG, a summary. Reuses what exists."""
    from cakupan.sample.generate import generate

    if not settings.pii_key:
        os.environ["CAKUPAN_PII_KEY"] = _demo_key(settings)
    sample = settings.home / "sample"
    os.environ.setdefault("CAKUPAN_LANDING_ROOT", str(sample / "landing"))
    os.environ.setdefault("CAKUPAN_REFERENCE_ROOT", str(sample / "reference"))
    settings = load_settings()
    _ensure_warehouse(settings)
    if not any(settings.landing_root.glob(f"*/{args.date.isoformat()}/_manifest.json")):
        summary = generate(sample, args.date, cache_dir=settings.cache_dir)
        print(f"Sample night {args.date}: {summary.participants:,} participants, {summary.branches} branches, "
              f"{summary.employers:,} employers.")
    cmd_reference(settings, args)
    return cmd_run(settings, args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cakupan", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    warehouse = commands.add_parser("warehouse", help="the embedded PostgreSQL warehouse")
    warehouse.add_argument("action", choices=["start", "stop", "status", "url", "setup"],
                           help="setup: create the roles and grants (another server: as CAKUPAN_WAREHOUSE_SETUP_URL)")
    warehouse.add_argument("--role", choices=["admin", "loader", "transformer", "bi", "setup"], default="admin",
                           help="url/start: whose URL to print (default admin; BI tools use bi)")
    _show_password_option(warehouse, "url/status/start: print the password in the URL (default: ***)")
    warehouse.set_defaults(handler=cmd_warehouse)

    reference = commands.add_parser("reference", help="region, branch and employed-population reference")
    reference.add_argument("action", choices=["load"])
    reference.set_defaults(handler=cmd_reference)

    gen = commands.add_parser("generate", help="synthetic branch exports that follow contract v1")
    gen.add_argument("--date", type=_date, required=True)
    gen.add_argument("--out", type=Path, required=True)
    gen.add_argument("--branches", type=int, default=6)
    gen.add_argument("--participants", type=int, default=20_000)
    gen.add_argument("--seed", type=int, default=1)
    gen.add_argument("--national", action="store_true",
                     help="national shape: all 514 districts and 83,762 villages, 325 branches sized by workforce")
    gen.add_argument("--next-night", action="store_true",
                     help="make the night of --date from the night before it, already under --out "
                          "(same branches and participants)")
    gen.add_argument("--changed", type=float, default=0.01,
                     help="with --next-night: the share of participants whose status, village or funding changes")
    gen.set_defaults(handler=cmd_generate)

    run = commands.add_parser("run", help="run the nightly DAG once for a date, through Airflow")
    run.add_argument("--date", type=_date, required=True)
    run.add_argument("--verbose", action="store_true", help="show Airflow's full task logs")
    _show_password_option(run, SUMMARY_PASSWORD_HELP)
    run.set_defaults(handler=cmd_run)

    backfill = commands.add_parser("backfill", help="run the nightly DAG for every date of a range, in order")
    backfill.add_argument("--start", type=_date, required=True)
    backfill.add_argument("--end", type=_date, required=True)
    backfill.add_argument("--verbose", action="store_true", help="show Airflow's full task logs")
    _show_password_option(backfill, SUMMARY_PASSWORD_HELP)
    backfill.set_defaults(handler=cmd_backfill)

    delivery = commands.add_parser("delivery", help="a branch's delivery: withdraw one that should not count")
    delivery.add_argument("action", choices=["withdraw"])
    delivery.add_argument("kode_cabang", metavar="KODE", help="the branch code, as in the landing folder")
    delivery.add_argument("export_date", metavar="DATE", type=_date, help="the delivery's export date YYYY-MM-DD")
    delivery.add_argument("--reason", help="why (kept in audit.withdrawals)")
    delivery.set_defaults(handler=cmd_delivery)

    award = commands.add_parser("award", help="the Paritrana Award: finalise a year (the committee's sign-off), or "
                                              "compare the published ranking with another rubric's (what-if)")
    award.add_argument("action", choices=["finalise", "what-if"])
    award.add_argument("--year", type=int, required=True, help="the award year to sign off or to score again")
    award.add_argument("--by", help="finalise: who signs it off (recorded in marts.award_finalisations)")
    award.add_argument("--supersede", action="store_true",
                       help="finalise a year again: score it with today's data and rubric; the earlier record is kept")
    award.add_argument("--rubric", type=Path, help="what-if: the alternative rubric file (as award/rubric.yml)")
    award.add_argument("--out", type=Path,
                       help="what-if: where to write the CSVs and the page (default: the docs site's what-if/YEAR)")
    award.set_defaults(handler=cmd_award)

    airflow = commands.add_parser("airflow",
                                  help="Airflow's services on this machine: up (and wait until healthy) or down")
    airflow.add_argument("action", choices=["up", "down"])
    airflow.add_argument("--executor", choices=["local", "celery"], default="local",
                         help="up: run tasks in the scheduler (local, default) or on Celery workers through a Redis "
                              "broker (celery)")
    airflow.add_argument("--workers", type=int, metavar="N",
                         help="up, with --executor celery: how many Celery workers to start (one task slot each)")
    _show_password_option(airflow, "up: print the UI login's password (default: ***)")
    airflow.set_defaults(handler=cmd_airflow)

    superset = commands.add_parser(
        "superset", help="the shipped Superset dashboard: import it into a Superset, write its ZIP, or install "
                         "the pinned Superset (venv)")
    superset.add_argument("action", choices=["import", "bundle", "venv"])
    superset.add_argument("--url", help="import/bundle: the warehouse as Superset reaches it, as cakupan_bi "
                                        "(default: this warehouse's, `cakupan warehouse url --role bi`)")
    superset.add_argument("--username", default="admin",
                          help="import: the Superset user the dashboard is imported as, an Admin (default admin)")
    superset.add_argument("--superset", default="superset",
                          help="import: your Superset's `superset` command (default: the one on PATH)")
    superset.add_argument("--out", type=Path, default=Path("cakupan_dashboard.zip"),
                          help="bundle: where to write the ZIP (default ./cakupan_dashboard.zip)")
    _show_password_option(superset, "import: print the password in the connection's URL (default: ***)")
    superset.set_defaults(handler=cmd_superset)

    bench = commands.add_parser("bench", help="measure speed and memory ratios (docs/benchmarks.json)")
    bench.add_argument("--participants", type=int, default=1_000_000)
    bench.add_argument("--repeats", type=int, default=5)
    bench.set_defaults(handler=cmd_bench)

    docs = commands.add_parser("docs", help="the reviewers' docs site: build it, or serve it on this machine")
    docs.add_argument("action", choices=["build", "serve"])
    docs.add_argument("--date", type=_date, help="build: the night whose gates the site reports (default: the last)")
    docs.add_argument("--port", type=int, default=8008, help="serve: the port on 127.0.0.1 (default 8008)")
    docs.set_defaults(handler=cmd_docs)

    demo = commands.add_parser("demo", help="what `make run` does: from nothing to coverage marts")
    demo.add_argument("--date", type=_date, default=DEMO_DATE)
    demo.add_argument("--verbose", action="store_true", help="show Airflow's full task logs")
    _show_password_option(demo, SUMMARY_PASSWORD_HELP)
    demo.set_defaults(handler=cmd_demo)
    return parser


def _show_password_option(command: argparse.ArgumentParser, help_text: str) -> None:
    command.add_argument("--show-password", action="store_true", help=help_text)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        from cakupan.platform.warehouse import make_home_private

        make_home_private(settings)
        return args.handler(settings, args)
    except KeyboardInterrupt:
        return 130
    except _user_errors() as error:
        return _fail(str(error))


def _user_errors() -> tuple[type[Exception], ...]:
    """Errors a user can fix from the message alone: printed as one line, without a traceback."""
    from cakupan.errors import UserError

    return (UserError, FileNotFoundError)


if __name__ == "__main__":
    sys.exit(main())
