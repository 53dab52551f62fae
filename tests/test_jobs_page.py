"""The /jobs page speaks the reader's language: the timetable's descriptions and schedules, and an
abandoned run's reason, are catalog messages, not English stored by the scheduler."""

from __future__ import annotations

import datetime as dt

from facilities.jobs import services as jobs
from facilities.jobs.tables import JobRun
from scheduler import registry, runner


async def _page(client, language: str) -> str:
    client.cookies.set("lang", language)
    page = await client.get("/jobs")
    assert page.status_code == 200
    return page.text


async def test_the_timetable_and_an_abandoned_run_read_in_chinese_and_english(
    app, settings, login, now
):
    await runner.publish_timetable(runner.build_scheduler(settings))
    started = await jobs.start_run("deliver_notifications", now, "gone:1", "schedule")
    await jobs.abandon_runs("new-leader:2", now + dt.timedelta(minutes=1))
    assert (await JobRun.objects().where(JobRun.id == started).first()).error == jobs.ABANDONED
    alice = await login("alice")

    chinese = await _page(alice, "zh_CN")
    assert "发送发件箱中到期的邮件，失败后按退避间隔重试" in chinese
    assert "每 30 秒" in chinese
    assert "已放弃：调度程序在完成前停止了" in chinese
    for spec in registry.JOBS:
        assert spec.description not in chinese, spec.id  # every description is translated

    english = await _page(alice, "en")
    assert "Send due e-mails from the outbox, retrying failures with backoff" in english
    assert "every 30 s" in english
    assert "abandoned: its scheduler stopped" in english
