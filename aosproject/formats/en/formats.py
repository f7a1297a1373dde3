"""Dates and times as operators read them (issue 19, item 8): to the second, with the time zone.

Django's English default ("Dec. 1, 2026, 1:22 p.m.") drops the seconds and the zone; every admin
list and page shows `2026-12-01 13:22:04 UTC` instead. Only display formats: input parsing is unchanged.
"""

DATETIME_FORMAT = "Y-m-d H:i:s T"
SHORT_DATETIME_FORMAT = "Y-m-d H:i:s T"
DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i:s"
