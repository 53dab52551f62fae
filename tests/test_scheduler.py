"""The scheduler: every run recorded, jobs runnable by hand with --now, one leader at a time."""

import dataclasses
import subprocess
import sys

import pytest

from facilities import db
from facilities.jobs import services as jobs
from facilities.jobs.tables import JobRun, ScheduledJob
from facilities.notifications import services as notifications
from facilities.notifications.choices import Status
from facilities.notifications.tables import Notification
from scheduler import registry, runner
from tests.kit.database import on_postgres
from tests.kit.processes import ROOT, subprocess_env


async def test_run_job_records_items(app, settings, now, personas):
    await notifications.enqueue(
        to="a@example.org",
        template="password_changed",
        context={"display_name": "A", "at": now},
        language="en",
        dedupe_key="x",
        now=now,
    )
    items = await runner.run_job(
        registry.BY_ID["deliver_notifications"], settings, now=now, trigger="manual"
    )
    assert items == 1  # console backend "sends" it
    run = await JobRun.objects().first()
    assert (run.job_id, run.items, run.trigger, run.error) == (
        "deliver_notifications",
        1,
        "manual",
        "",
    )
    assert run.finished_at is not None
    assert (await Notification.objects().first()).status == Status.SENT


async def test_failed_job_records_its_error(app, settings, now):
    async def broken(now, settings):
        raise RuntimeError("boom")

    spec = dataclasses.replace(registry.BY_ID["purge_expired"], id="broken", func=broken)
    with pytest.raises(RuntimeError):
        await runner.run_job(spec, settings, now=now)
    run = await JobRun.objects().first()
    assert run.job_id == "broken"
    assert "RuntimeError: boom" in run.error
    assert run.finished_at is not None


def test_scheduler_defaults_coalesce_and_catch_up(settings):
    scheduler = runner.build_scheduler(settings)
    assert scheduler._job_defaults["coalesce"] is True
    assert scheduler._job_defaults["max_instances"] == 1
    assert scheduler._job_defaults["misfire_grace_time"] >= 3600
    ids = {job.id for job in scheduler.get_jobs()}
    assert {spec.id for spec in registry.JOBS} <= ids


async def test_published_timetable_is_shown_to_staff(app, settings, login, now):
    scheduler = runner.build_scheduler(settings)
    await runner.publish_timetable(scheduler)
    assert {row.job_id for row in await ScheduledJob.objects()} == set(registry.BY_ID)
    await jobs.publish_timetable(
        [
            {
                "job_id": "deliver_notifications",
                "description": "d",
                "schedule": "s",
                "next_run_at": now,
            }
        ],
        "other:1",
        now,
    )
    assert [row.job_id for row in await ScheduledJob.objects()] == ["deliver_notifications"]
    alice = await login("alice")
    page = await alice.get("/jobs")
    assert page.status_code == 200
    assert "deliver_notifications" in page.text
    carol = await login("carol")
    assert (await carol.get("/jobs")).status_code == 403


def test_run_by_hand_from_the_command_line(app, settings):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "scheduler",
            "run",
            "purge_expired",
            "--now",
            "2026-12-01T04:10:00+08:00",
        ],
        cwd=ROOT,
        env=subprocess_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "purge_expired: 0 item(s)" in result.stdout


def test_bad_now_is_refused_with_a_message(settings):
    result = subprocess.run(
        [sys.executable, "-m", "scheduler", "run", "purge_expired", "--now", "yesterday"],
        cwd=ROOT,
        env=subprocess_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "bad --now" in result.stderr


async def test_second_sqlite_scheduler_refuses_to_start(settings):
    if on_postgres():
        pytest.skip("the file lock is the SQLite mechanism")
    lock = runner.leader_lock(settings)
    assert await lock.acquire()
    try:
        assert not await runner.leader_lock(settings).acquire()
        result = subprocess.run(  # noqa: ASYNC221 - the test waits for the refusal
            [sys.executable, "-m", "scheduler"],
            cwd=ROOT,
            env=subprocess_env(settings),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 3
        assert "another scheduler process already runs" in result.stderr
    finally:
        await lock.release()
    assert await runner.leader_lock(settings).acquire()


async def test_postgres_leader_lock_is_exclusive_and_released(settings, postgres_only):
    first, second = (
        runner.AdvisoryLock(settings.database_url),
        runner.AdvisoryLock(settings.database_url),
    )
    assert await first.acquire()
    try:
        assert not await second.acquire()
        assert await first.still_held()
    finally:
        await first.release()
    assert await second.acquire()
    await second.release()


def test_bad_configuration_stops_the_scheduler(settings):
    result = subprocess.run(
        [sys.executable, "-m", "scheduler", "list"],
        cwd=ROOT,
        env=subprocess_env(settings, FACILITIES_PORT="eighty"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "FACILITIES_PORT" in result.stderr


def test_database_is_configured_for_the_test(settings):
    assert db.engine_url(db.engine()) == settings.database_url
