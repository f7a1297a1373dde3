#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aosproject.settings")
    # A command is one short-lived process: its metrics stay in memory and are pushed to the
    # Pushgateway (aosproject/metrics_push.py). Files in gunicorn's multiprocess directory would
    # only pile up (one set per run) and be summed into the web's counters on that host alone.
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
