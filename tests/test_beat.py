"""`make beat` and the beat schedule (issue 16, finding 8): retention on a crontab, not an interval."""

from __future__ import annotations

import datetime as dt

import pytest
from celery.schedules import crontab, schedule

from tests.procs import child_env, running, wait_for


def test_it_schedules_retention_and_the_idempotency_purge_on_crontabs(settings):
    """An interval entry first runs one interval after beat starts: a daily one never ran on a beat
    restarted daily. A crontab entry runs at its time whenever beat started."""
    retention = settings.CELERY_BEAT_SCHEDULE["prune-traces-daily"]["schedule"]
    purge = settings.CELERY_BEAT_SCHEDULE["idempotency-purge-hourly"]["schedule"]
    assert isinstance(retention, crontab) and isinstance(purge, crontab)
    assert (retention.minute, retention.hour) == ({17}, {3})
    # Beat (re)started at 03:16:30: a new entry's last run is the start. Retention is due 30 s
    # later; the old interval entry would have waited a whole day (and a daily restart, forever).
    started = dt.datetime(2026, 6, 1, 3, 16, 30, tzinfo=dt.UTC)
    at_start = crontab(minute="17", hour="3", nowfun=lambda: started)
    assert (at_start.minute, at_start.hour) == (retention.minute, retention.hour)
    due, next_in = at_start.is_due(started)
    assert not due and next_in == pytest.approx(30, abs=1)
    old_interval = schedule(24 * 3600, nowfun=lambda: started)
    assert old_interval.is_due(started) == (False, 24 * 3600)


@pytest.mark.parametrize("spec", ["17 3 * *", "99 3 * * *", "every day"])
def test_it_reports_a_malformed_retention_crontab(spec, settings):
    from aosproject.checks import check_configuration
    from aosproject.settings import crontab_or_none

    assert crontab_or_none(spec) is None
    settings.RETENTION_CRONTAB, settings.RETENTION_SCHEDULE = spec, None
    assert "aos.E051" in {m.id for m in check_configuration(None)}


def test_it_starts_celery_beat_with_make_beat(tmp_path):
    """The README's `make beat`: beat starts on the configured broker and writes its schedule file."""
    schedule = tmp_path / "beat-schedule"
    env = child_env()
    with running(["make", "beat", f"BEAT_SCHEDULE={schedule}"], log_path=tmp_path / "beat.log", env=env) as beat:
        wait_for(lambda: "beat: Starting..." in beat.log(), timeout=30, what="celery beat", log=beat.log_path)
        assert beat.process.poll() is None
    assert list(tmp_path.glob("beat-schedule*"))
