"""Job runs: the history of every scheduler job run (who ran it, when, how many items, error) and
the timetable as the running scheduler last published it, so staff can see both from any web
process, even when the scheduler runs elsewhere."""
