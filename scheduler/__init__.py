"""The scheduler: APScheduler wiring and thin job entry points.

It imports ``facilities`` and never the reverse. The timetable is ``registry.JOBS``; every job is
``async def job(now, settings) -> int`` (items handled), idempotent and bounded, so running it
twice, on two machines or after a crash never doubles an effect.
"""
