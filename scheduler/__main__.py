"""``python -m scheduler``: run the scheduler in its own process.
``python -m scheduler run <job-id> [--now ISO]``: run one job once, by hand.
``python -m scheduler list``: show the timetable."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from facilities import db
from facilities.lib import memory
from facilities.lib.clock import parse_instant
from facilities.rendering import configure_rendering
from facilities.settings import Settings, SettingsError
from facilities.wiring import connect_domains
from scheduler.registry import BY_ID, JOBS
from scheduler.runner import SchedulerAlreadyRunning, lead_while_possible, run_job


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m scheduler", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="run one job once")
    run.add_argument("job_id", choices=sorted(BY_ID))
    run.add_argument("--now", help="the instant the job believes it is (ISO 8601)")
    sub.add_parser("list", help="show the timetable")
    return parser.parse_args(argv)


async def serve(settings: Settings) -> None:
    """Lead or stand by until SIGTERM/SIGINT; then finish (or, past the grace period, cancel
    and release) the running jobs and release the leader lock before exiting."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def request_stop(sig: signal.Signals) -> None:
        if not stop.is_set():
            logging.getLogger("scheduler").info("%s received: stopping", sig.name)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, request_stop, sig)
    async with (
        db.connection_pool(settings.db_pool_min, settings.db_pool_max),
        memory.trimming(settings.memory_trim_seconds),
    ):
        await lead_while_possible(settings, stop, standby=not settings.is_sqlite)


async def run_once(settings: Settings, job_id: str, now_text: str | None) -> int:
    now = parse_instant(now_text, settings.zone) if now_text else None
    return await run_job(BY_ID[job_id], settings, now=now, trigger="manual")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    db.configure(settings.database_url)
    connect_domains(settings)
    configure_rendering(settings)
    if args.command == "list":
        for spec in JOBS:
            print(f"{spec.id:28} {spec.schedule:14} {spec.description}")
        return 0
    if args.command == "run":
        try:
            items = asyncio.run(run_once(settings, args.job_id, args.now))
        except ValueError as exc:
            print(f"bad --now: {exc}", file=sys.stderr)
            return 2
        except Exception as exc:
            print(f"job {args.job_id} failed: {exc}", file=sys.stderr)
            return 1
        print(f"{args.job_id}: {items} item(s)")
        return 0
    try:
        asyncio.run(serve(settings))
    except SchedulerAlreadyRunning as exc:
        print(f"scheduler not started: {exc}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
