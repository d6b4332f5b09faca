#!/usr/bin/python3
"""A differential test of Kalends' recurrence expansion against an
independent engine: Debian's python3-recurring-ical-events (2.0.1, on
python3-icalendar 4.0.3, python3-dateutil and pytz).

Usage: /usr/bin/python3 recurdiff_check.py URL USER PASSWORD
           [--seed N] [--objects N] [--dump DIR] [--verbose]

1. Generates a corpus of calendar objects, deterministic from the seed
   (RECURDIFF_SEED, else --seed, else 1): VEVENTs and some VTODOs over every
   RRULE part, RDATE, EXDATE, overrides, all-day and floating times, IANA
   zones with DST transitions in the windows, Windows zone names and
   VTIMEZONE-only zones.
2. PUTs it into a new calendar (which has no calendar-timezone, so both
   sides read floating and DATE values in UTC, RFC 4791 §9.8's default) and,
   for each of a dozen windows, asks Kalends for the instances with a
   calendar-query whose calendar-data has <C:expand> - end to end over HTTP,
   as a client sees them.
3. Asks recurring_ical_events.of(cal).between(start, end) the same, and
   compares the (start, end) of every instance, in UTC. The window is given
   as aware UTC datetimes (a naive one the engine reads in each event's own
   zone). For VEVENTs the engine's overlap test is RFC 4791 §9.9's; for
   VTODOs it is not (it tests them like events), so the engine is asked
   over a wider window and §9.9's VTODO table is applied to what it gives.
4. Also checks that a calendar-query's time-range filter (answered from
   Kalends' time-range index) selects exactly the objects that have an
   instance in the window.

Each disagreement is either a failure, or a case the engine here is known to
get wrong by RFC 5545, which is set aside and counted with its reason (see
KNOWN_PYTHON_DIFFERENCES below and the NOTE lines of the output). Prints one
PASS/FAIL line per feature tag (an object fails every tag it carries) and
the closing "recurdiff: N passed, M failed" that run.sh counts; exits 1 if
anything failed.

How independent: the engine is another code base on another zone database
(pytz), with its own handling of DTSTART, COUNT, UNTIL, EXDATE, RDATE,
overrides, time zones and windows. Its BYxxx arithmetic is dateutil's, of
which Kalends' rrule-go is a port, so an error both share there would not
show; domain's TestRFC5545Examples checks that part against the RFC.

Run it with /usr/bin/python3: the modules are Debian's packages, which a
pyenv python3 earlier on PATH does not see.
"""

import argparse
import base64
import datetime as dt
import itertools
import os
import random
import re
import signal
import sys
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from urllib.parse import quote, unquote, urljoin

import icalendar
import pytz
import recurring_ical_events
from dateutil.rrule import rrulestr

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import Checks  # noqa: E402

UTC = pytz.utc

# What this engine does not support, and so is not generated (not compared):
#  - RDATE;VALUE=PERIOD: icalendar 4.0.3 parses a period to a tuple that the
#    engine feeds to dateutil's rruleset, which raises TypeError.
#  - RECURRENCE-ID;RANGE=THISANDFUTURE: 2.0.1 ignores RANGE and treats the
#    override as replacing one instance (RFC 5545 §3.8.4.4 makes it replace
#    all later ones). Kalends' handling is covered by domain's TestThisAndFuture.
#  - BYDAY ordinals of two digits (20MO, -10FR, 53SU): icalendar 4.0.3's
#    weekday pattern takes one digit and refuses the rule. Ordinals within
#    a year go up to 9 here.
#  - More than one RRULE (2.0.1 raises ValueError; RFC 5545 says RRULE
#    SHOULD NOT occur more than once).
#  - Overrides in a set with two instances on one local day: 2.0.1 matches
#    an override to its instance by the RECURRENCE-ID's date only, so it
#    would replace whichever instance of that day it saw last. Overrides are
#    generated only for sets with at most one instance a day and no RDATE.
#  - A DTSTART not synchronized with its RRULE: RFC 5545 §3.8.5.3 leaves the
#    set undefined (dateutil then counts COUNT without DTSTART). DTSTART is
#    always the rule's first instance, found with dateutil.
#  - A DATE UNTIL with a DATE-TIME DTSTART, or a UTC UNTIL with a floating
#    one: RFC 5545 §3.3.10 requires UNTIL to have DTSTART's value type (and
#    to be UTC exactly when DTSTART has a zone).
#  - Local times that occur twice (DST fall-back) as DTSTART, DTEND, RDATE,
#    EXDATE, RECURRENCE-ID or UNTIL: pytz reads them as the second
#    occurrence (see the first known difference below); generated values
#    avoid them, rule instances may still land on them.
#
# What it does differently, and how the comparison allows for it (each
# occurrence is counted and printed as a NOTE):
KNOWN_PYTHON_DIFFERENCES = {
    "ambiguous": "an instance at a local time that occurs twice is read by pytz "
    "(localize with is_dst=False) as its second occurrence; RFC 5545 §3.3.5 "
    "says the first - the engine's instance is moved to the first",
    "allday-no-end": "an all-day VEVENT without DTEND or DURATION gets no length; "
    "RFC 5545 §3.6.1 gives it one day - the engine's end is set a day later",
    "duplicate": "a rule instance in a DST gap and the one at the gap's end are "
    "the same instant (RFC 5545 §3.3.10 reads a missing local time as §3.3.5 "
    "does); the engine yields it twice, a recurrence set has it once",
    "nominal-duration": "a DURATION's days are added as 24 hours; RFC 5545 "
    "§3.8.5.3 and §3.3.6 make them nominal (P1D across a DST change lasts 23 "
    "or 25 hours) - the engine's end is recomputed so",
    "until-before-start": "a rule whose UNTIL precedes DTSTART: RFC 5545 "
    "§3.8.5.3 makes DTSTART the first instance of the set whatever the rule "
    "adds (Kalends keeps it); the engine drops every instance after UNTIL, "
    "DTSTART too - set aside",
    "early-rdate": "the engine widens the window by the event's length only "
    "when the window starts after DTSTART, so an instance from an RDATE "
    "before DTSTART that began before the window and lasts into it is "
    "missed (RFC 4791 §9.9: it overlaps) - set aside",
    "dst-merge": "dateutil merges rule instances and RDATEs as instants "
    "while rule instances still carry DTSTART's UTC offset, so a rule "
    "instance across a DST change from DTSTART that seems to fall on an "
    "RDATE's instant (an hour from its own) is merged with it, and one of "
    "the two is lost (RFC 5545 §3.8.5.2: the set is the union of the "
    "instants) - set aside",
    "dst-exdate": "dateutil matches EXDATEs with rule instances while these "
    "still carry DTSTART's UTC offset, so a rule instance across a DST "
    "change from DTSTART that seems to fall on an EXDATE's instant (an "
    "hour from its own) is excluded too (RFC 5545 §3.8.5.1: EXDATE removes "
    "the instances it names) - set aside",
    "until-dst": "dateutil compares UNTIL with instances still carrying "
    "DTSTART's UTC offset, so an instance across a DST change from DTSTART "
    "and within an hour of UNTIL is dropped though it is at or before UNTIL "
    "(RFC 5545 §3.3.10: UNTIL is inclusive) - set aside",
    "window-dst": "the engine pre-selects instances with dateutil while they "
    "still carry DTSTART's UTC offset, so an instance across a DST change "
    "from DTSTART, within an hour of the edge of the whole days it searches, "
    "is missed although it overlaps the window (RFC 4791 §9.9) - set aside",
}


# --- zones -----------------------------------------------------------------

# IANA zones whose rules did not change between pytz 2022.7 and Go's
# embedded tzdata for 2023-2027, so both engines mean the same offsets.
IANA_DST = [
    "America/New_York", "America/Los_Angeles", "Europe/Berlin", "Europe/London",
    "Australia/Sydney", "Australia/Lord_Howe", "Pacific/Chatham", "America/St_Johns",
    "Pacific/Auckland",
]
IANA_FIXED = ["Asia/Tokyo", "Asia/Kolkata", "America/Sao_Paulo", "Asia/Kathmandu"]


def outlook_vtimezone(tzid, std, dst=None):
    """A VTIMEZONE as Outlook writes one: observances from 1601 with the
    current rules only. std/dst are (offset from, offset to, time, BYDAY,
    BYMONTH)."""
    lines = ["BEGIN:VTIMEZONE", f"TZID:{tzid}"]
    if dst is None:
        lines += ["BEGIN:STANDARD", "DTSTART:16010101T000000",
                  f"TZOFFSETFROM:{std}", f"TZOFFSETTO:{std}", "END:STANDARD"]
    else:
        for name, (frm, to, at, byday, bymonth) in (("STANDARD", std), ("DAYLIGHT", dst)):
            lines += [f"BEGIN:{name}", f"DTSTART:16010101T{at}", f"TZOFFSETFROM:{frm}",
                      f"TZOFFSETTO:{to}", f"RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY={byday};BYMONTH={bymonth}",
                      f"END:{name}"]
    lines.append("END:VTIMEZONE")
    return lines


# Windows names (both engines map them through CLDR's table to the IANA
# zone here), each sent with the VTIMEZONE Outlook would send.
WINDOWS = {
    "Eastern Standard Time": ("America/New_York", outlook_vtimezone(
        "Eastern Standard Time", ("-0400", "-0500", "020000", "1SU", 11), ("-0500", "-0400", "020000", "2SU", 3))),
    "W. Europe Standard Time": ("Europe/Berlin", outlook_vtimezone(
        "W. Europe Standard Time", ("+0200", "+0100", "030000", "-1SU", 10), ("+0100", "+0200", "020000", "-1SU", 3))),
    "GMT Standard Time": ("Europe/London", outlook_vtimezone(
        "GMT Standard Time", ("+0100", "+0000", "020000", "-1SU", 10), ("+0000", "+0100", "010000", "-1SU", 3))),
    "AUS Eastern Standard Time": ("Australia/Sydney", outlook_vtimezone(
        "AUS Eastern Standard Time", ("+1100", "+1000", "030000", "1SU", 4), ("+1000", "+1100", "020000", "1SU", 10))),
    "Tokyo Standard Time": ("Asia/Tokyo", outlook_vtimezone("Tokyo Standard Time", "+0900")),
}

# Zones only their VTIMEZONE defines (no database knows the names), with
# the IANA zone of the same rules that the generator uses for arithmetic.
CUSTOM = {
    "Kalends Custom/Eastern": ("America/New_York", [
        "BEGIN:VTIMEZONE", "TZID:Kalends Custom/Eastern",
        "BEGIN:DAYLIGHT", "DTSTART:20070311T020000", "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU",
        "TZOFFSETFROM:-0500", "TZOFFSETTO:-0400", "TZNAME:EDT", "END:DAYLIGHT",
        "BEGIN:STANDARD", "DTSTART:20071104T020000", "RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU",
        "TZOFFSETFROM:-0400", "TZOFFSETTO:-0500", "TZNAME:EST", "END:STANDARD",
        "END:VTIMEZONE"]),
    "Kalends Custom/Southern": ("Australia/Sydney", [
        "BEGIN:VTIMEZONE", "TZID:Kalends Custom/Southern",
        "BEGIN:STANDARD", "DTSTART:20080406T030000", "RRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=1SU",
        "TZOFFSETFROM:+1100", "TZOFFSETTO:+1000", "TZNAME:AEST", "END:STANDARD",
        "BEGIN:DAYLIGHT", "DTSTART:20081005T020000", "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=1SU",
        "TZOFFSETFROM:+1000", "TZOFFSETTO:+1100", "TZNAME:AEDT", "END:DAYLIGHT",
        "END:VTIMEZONE"]),
    "Kalends Custom/Fixed": ("Asia/Kathmandu", [
        "BEGIN:VTIMEZONE", "TZID:Kalends Custom/Fixed",
        "BEGIN:STANDARD", "DTSTART:19860101T000000", "TZOFFSETFROM:+0545", "TZOFFSETTO:+0545",
        "END:STANDARD", "END:VTIMEZONE"]),
}


class Zone:
    """How an object's timed values are written, and how the generator turns
    its wall times into instants (RFC 5545 §3.3.5: a skipped local time
    takes the offset before the gap, a repeated one its first occurrence)."""

    def __init__(self, kind, tzid=None, iana=None, vtimezone=None):
        self.kind = kind  # utc, floating, iana, windows, custom, date
        self.tzid = tzid
        self.tz = pytz.timezone(iana) if iana else None
        self.vtimezone = vtimezone or []

    def ambiguous(self, wall):
        return self.tz is not None and ambiguous(self.tz, wall)

    def instant(self, wall):
        return UTC.localize(wall) if self.tz is None else rfc_instant(self.tz, wall)

    def prop(self, name, wall, utc=False):
        """name;params:value for a wall time in this zone (utc: as UTC)."""
        if self.kind == "date":
            return f"{name};VALUE=DATE:{wall:%Y%m%d}"
        if utc or self.kind == "utc":
            return f"{name}:{self.instant(wall):%Y%m%dT%H%M%SZ}"
        if self.kind == "floating":
            return f"{name}:{wall:%Y%m%dT%H%M%S}"
        return f"{name};TZID={self.tzid}:{wall:%Y%m%dT%H%M%S}"


# --- the generator ---------------------------------------------------------

WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


class Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise Timeout()


def walls(rule, dtstart, limit=150):
    """The rule's first instances from dtstart (naive wall times) before
    2031, by dateutil; Timeout if dateutil takes more than a second (an
    impossible rule)."""
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(1)
    try:
        it = itertools.takewhile(lambda w: w.year < 2031, rrulestr(rule, dtstart=dtstart))
        return list(itertools.islice(it, limit))
    finally:
        signal.alarm(0)


class Gen:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.seed = seed

    def days(self, n):
        return sorted(self.rng.sample(WEEKDAYS, n), key=WEEKDAYS.index)

    # Rule families: each returns (rule without COUNT/UNTIL, tags, at most
    # one instance a day).
    def r_yearly(self):
        r = self.rng
        m = r.randint(1, 12)
        opts = [
            (f"FREQ=YEARLY;INTERVAL={r.randint(1, 3)}", True),
            (f"FREQ=YEARLY;BYMONTH={m},{(m + 5) % 12 + 1};BYDAY={r.choice(['1', '2', '-1', '-2', '3'])}{r.choice(WEEKDAYS)}", True),
            (f"FREQ=YEARLY;BYDAY={r.choice(['9', '1', '-1', '-9', '5'])}{r.choice(WEEKDAYS)}", True),
            (f"FREQ=YEARLY;BYMONTH={r.choice([2, 4, 12])};BYMONTHDAY={r.choice([-1, -2, -28, 1])}", True),
            ("FREQ=YEARLY;BYMONTH=11;BYDAY=TU;BYMONTHDAY=2,3,4,5,6,7,8", True),
            (f"FREQ=YEARLY;BYMONTH=1,{m};BYDAY={','.join(self.days(2))}", True),
        ]
        rule, once = r.choice(opts)
        return rule, ["rule:yearly"], once

    def r_byyearday(self):
        r = self.rng
        if r.random() < 0.3:
            # With a BYMONTH that holds one of the days (60 is February 29
            # or March 1): a BYMONTH that holds none makes an empty rule
            # that dateutil searches to year 9999 for.
            days, months = r.choice([("1,60", "1,2,3"), ("-1", "12"), ("100,200", "4,7"), ("60", "2"),
                                     ("-306,-1", "2,3,12"), ("366", "12")])
            return f"FREQ=YEARLY;BYYEARDAY={days};BYMONTH={months}", ["rule:byyearday"], True
        days = sorted(set(r.choice([1, 60, 100, 200, 365, 366, -1, -100, -366]) for _ in range(r.randint(1, 3))))
        return f"FREQ=YEARLY;BYYEARDAY={','.join(map(str, days))}", ["rule:byyearday"], True

    def r_byweekno(self):
        r = self.rng
        weeks = sorted(set(r.choice([1, 2, 20, 26, 52, 53, -1, -2]) for _ in range(r.randint(1, 2))))
        rule = f"FREQ=YEARLY;BYWEEKNO={','.join(map(str, weeks))}"
        if r.random() < 0.7:
            rule += f";BYDAY={','.join(self.days(r.randint(1, 3)))}"
        rule += f";WKST={r.choice(WEEKDAYS)}"
        return rule, ["rule:byweekno", "rule:wkst"], True

    def r_monthly(self):
        r = self.rng
        opts = [
            f"FREQ=MONTHLY;BYDAY={r.choice(['1', '2', '3', '4', '5', '-1', '-2'])}{r.choice(WEEKDAYS)}",
            f"FREQ=MONTHLY;BYDAY=1{r.choice(WEEKDAYS)},-1{r.choice(WEEKDAYS)}",
            "FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13",
            f"FREQ=MONTHLY;BYMONTHDAY={r.choice(['-1', '-3', '1,-1', '15,-15', '31', '30', '29'])}",
            f"FREQ=MONTHLY;INTERVAL={r.choice([2, 3, 18])}",
            f"FREQ=MONTHLY;INTERVAL={r.choice([2, 3])};BYDAY={','.join(self.days(r.randint(1, 2)))}",
            f"FREQ=MONTHLY;BYMONTH={r.randint(1, 12)},{r.randint(1, 12)};BYMONTHDAY={r.choice(['1', '-1', '10'])}",
        ]
        rule = r.choice(opts)
        return rule, ["rule:monthly"], True

    def r_bysetpos(self):
        r = self.rng
        opts = [
            f"FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS={r.choice(['1', '-1', '1,-1', '2', '-2'])}",
            "FREQ=MONTHLY;BYDAY=TU,WE,TH;BYSETPOS=3",
            f"FREQ=MONTHLY;BYDAY=SA,SU;BYSETPOS={r.choice(['1', '-1'])}",
            f"FREQ=YEARLY;BYMONTH={r.randint(1, 12)};BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
            f"FREQ=MONTHLY;BYMONTHDAY=1,2,3,-1,-2;BYSETPOS={r.choice(['2', '-1'])}",
            f"FREQ=WEEKLY;BYDAY={','.join(self.days(3))};BYSETPOS={r.choice(['1', '-1', '2'])}",
        ]
        return r.choice(opts), ["rule:bysetpos"], True

    def r_weekly(self):
        r = self.rng
        rule = "FREQ=WEEKLY"
        if r.random() < 0.6:
            rule += f";INTERVAL={r.choice([1, 2, 2, 3])}"
        if r.random() < 0.8:
            rule += f";BYDAY={','.join(self.days(r.randint(1, 4)))}"
        tags = ["rule:weekly"]
        if r.random() < 0.6:
            rule += f";WKST={r.choice(['MO', 'SU', 'SA', 'WE'])}"
            tags.append("rule:wkst")
        return rule, tags, True

    def r_daily(self):
        r = self.rng
        opts = [
            (f"FREQ=DAILY;INTERVAL={r.choice([1, 2, 3, 10])}", True),
            (f"FREQ=DAILY;BYDAY={','.join(self.days(r.randint(1, 5)))}", True),
            (f"FREQ=DAILY;BYMONTH={r.randint(1, 12)},{r.randint(1, 12)}", True),
            (f"FREQ=DAILY;BYMONTHDAY={r.choice(['1,15', '-1', '5,10,-5'])}", True),
            (f"FREQ=DAILY;BYHOUR={r.choice(['9,17', '0,12', '1,2,3', '8'])};BYMINUTE={r.choice(['0', '0,30', '15'])}", False),
        ]
        rule, once = r.choice(opts)
        return rule, ["rule:daily"], once

    def r_subdaily(self):
        r = self.rng
        opts = [
            f"FREQ=HOURLY;INTERVAL={r.choice([1, 2, 3, 5, 7, 25])}",
            f"FREQ=HOURLY;BYHOUR={r.choice(['9,17', '0,1,2,3', '1,2'])}",
            f"FREQ=MINUTELY;INTERVAL={r.choice([15, 20, 90, 7])}",
            "FREQ=MINUTELY;INTERVAL=20;BYHOUR=9,10,11,12,13,14,15,16",
            f"FREQ=MINUTELY;BYMINUTE={r.choice(['0,30', '5'])};BYHOUR={r.choice(['0,1,2,3', '9'])}",
            f"FREQ=SECONDLY;INTERVAL={r.choice([1, 15, 45])}",
            "FREQ=SECONDLY;BYSECOND=0,30;BYMINUTE=0,1",
        ]
        return r.choice(opts), ["rule:sub-daily"], False

    FAMILIES = [
        ("r_yearly", 3), ("r_byyearday", 1), ("r_byweekno", 1), ("r_monthly", 3),
        ("r_bysetpos", 2), ("r_weekly", 3), ("r_daily", 3), ("r_subdaily", 2),
    ]

    def zone(self, timed=True):
        r = self.rng
        if not timed:
            return Zone("date")
        k = r.choices(["utc", "floating", "iana", "fixed", "windows", "custom"], [2, 2, 6, 1, 2, 2])[0]
        if k == "utc":
            return Zone("utc")
        if k == "floating":
            return Zone("floating")
        if k == "iana":
            name = r.choice(IANA_DST)
            return Zone("iana", name, name)
        if k == "fixed":
            name = r.choice(IANA_FIXED)
            return Zone("iana", name, name)
        if k == "windows":
            name = r.choice(sorted(WINDOWS))
            return Zone("windows", name, WINDOWS[name][0], WINDOWS[name][1])
        name = r.choice(sorted(CUSTOM))
        return Zone("custom", name, CUSTOM[name][0], CUSTOM[name][1])

    def anchor(self, timed):
        r = self.rng
        day = dt.datetime(2024, 1, 1) + dt.timedelta(days=r.randint(-20, 640))
        if not timed:
            return day
        h, m = r.choice([(0, 0), (0, 30), (1, 30), (2, 30), (2, 0), (3, 0), (9, 0), (12, 0), (17, 45),
                         (23, 30), (r.randint(0, 23), r.randint(0, 59))])
        return day.replace(hour=h, minute=m, second=r.choice([0, 0, 0, 17]))

    def duration(self, timed):
        r = self.rng
        if timed:
            return r.choice([dt.timedelta(0), dt.timedelta(minutes=45), dt.timedelta(hours=1),
                             dt.timedelta(hours=2, minutes=30), dt.timedelta(days=1),
                             dt.timedelta(days=1, hours=2), dt.timedelta(hours=26)])
        return dt.timedelta(days=r.choice([1, 1, 2, 3, 7]))

    @staticmethod
    def ical_duration(d):
        if d.days and not d.seconds:
            return f"P{d.days // 7}W" if d.days % 7 == 0 else f"P{d.days}D"
        out = "P" + (f"{d.days}D" if d.days else "") + "T"
        h, rest = divmod(d.seconds, 3600)
        m, s = divmod(rest, 60)
        out += (f"{h}H" if h else "") + (f"{m}M" if m else "") + (f"{s}S" if s else "")
        return out if out != "PT" else "PT0S"

    def end_lines(self, kind, zone, start, timed, allow_none=True):
        """The end of a component starting at wall time start."""
        r = self.rng
        d = self.duration(timed)
        end = start + d
        endname = "DUE" if kind == "VTODO" else "DTEND"
        choices = ["end", "duration"] + (["none"] if allow_none else [])
        how = r.choice(choices)
        if how == "none":
            return [], ["end:none"]
        if how == "duration":
            return [f"DURATION:{self.ical_duration(d)}"], ["end:duration"]
        if zone.ambiguous(end):
            end += dt.timedelta(hours=2)
        if timed and zone.instant(end) < zone.instant(start):
            # A start in a DST gap is read an hour later (RFC 5545 §3.3.5):
            # an end soon after it on the clock can precede it in time.
            end += dt.timedelta(hours=1)
        utc = timed and zone.kind not in ("floating", "utc") and r.random() < 0.2
        return [zone.prop(endname, end, utc=utc)], ["end:" + endname.lower()]

    def bounded(self, rule, all_walls, zone, freq_sub_daily, tags):
        """Adds COUNT or UNTIL (or nothing); returns (rule, the set's walls)."""
        r = self.rng
        how = r.choices(["count", "until", "none"], [4, 4, 0 if freq_sub_daily else 2])[0]
        if how == "none" or len(all_walls) < 2:
            if freq_sub_daily:
                n = min(len(all_walls), r.randint(1, 120))
                return f"{rule};COUNT={n}", all_walls[:n]
            return rule, all_walls
        if how == "count":
            tags.append("rule:count")
            n = r.randint(1, min(len(all_walls), 60))
            return f"{rule};COUNT={n}", all_walls[:n]
        tags.append("rule:until")
        k = r.randint(0, min(len(all_walls), 60) - 1)
        last = all_walls[k]
        if zone.kind == "date":
            # A DATE UNTIL (the same value type as DTSTART, RFC 5545 §3.3.10).
            until = last + dt.timedelta(days=r.choice([0, 0, 1]))
            tags.append("until:date")
            return f"{rule};UNTIL={until:%Y%m%d}", [w for w in all_walls if w <= until]
        while zone.ambiguous(last) and k > 0:
            k -= 1
            last = all_walls[k]
        extra = r.choice([dt.timedelta(0), dt.timedelta(0), dt.timedelta(seconds=-1), dt.timedelta(minutes=30),
                          dt.timedelta(hours=5)])
        if freq_sub_daily:
            # No more instances than COUNT would give (max-instances).
            extra = min(extra, dt.timedelta(0))
        if zone.kind == "floating":
            until = last + extra
            tags.append("until:floating")
            return f"{rule};UNTIL={until:%Y%m%dT%H%M%S}", [w for w in all_walls if w <= until]
        until = zone.instant(last) + extra
        tags.append("until:utc")
        return f"{rule};UNTIL={until:%Y%m%dT%H%M%SZ}", [w for w in all_walls if zone.instant(w) <= until]

    def obj(self, i):
        """One calendar object (see wrap), or None when the draw gave a rule
        that has no instance or is not synchronized with its DTSTART."""
        r = self.rng
        uid = f"rd-{self.seed}-{i:04d}@kalends.test"
        kind = "VTODO" if r.random() < 0.15 else "VEVENT"
        tags = ["kind:" + kind.lower()]
        recurring = r.random() < 0.88
        family, rule, once, sub_daily = None, None, True, False
        if recurring:
            family = r.choices([f for f, _ in self.FAMILIES], [w for _, w in self.FAMILIES])[0]
            rule, ftags, once = getattr(self, family)()
            tags += ftags
            sub_daily = family == "r_subdaily" or "BYHOUR" in rule
        timed = kind == "VTODO" or sub_daily or r.random() < 0.8
        zone = self.zone(timed)
        tags.append("zone:" + (zone.kind if zone.kind != "iana" or zone.tzid in IANA_DST else "fixed"))
        anchor = self.anchor(timed)
        start = anchor
        set_walls = [start]
        if recurring:
            try:
                first = walls(rule, anchor, 1)
                if not first:
                    return None
                start = first[0]
                all_walls = walls(rule, start)
            except (Timeout, ValueError):
                return None
            if not all_walls or all_walls[0] != start or start.year > 2026:
                return None  # not synchronized (RFC 5545 §3.8.5.3: undefined)
            rule, set_walls = self.bounded(rule, all_walls, zone, sub_daily, tags)
            if not set_walls:
                # UNTIL before DTSTART: the rule adds nothing, DTSTART stays.
                tags.append("until:before-dtstart")
                set_walls = [start]
        if zone.ambiguous(start):
            return None
        lines = [f"UID:{uid}", "DTSTAMP:20240101T000000Z", f"SUMMARY:recurdiff {i}",
                 zone.prop("DTSTART", start)]
        if kind == "VTODO" and r.random() < 0.3 and not recurring:
            lines = lines[:3]  # a VTODO with only DUE
            tags.append("todo:due-only")
            end = start + self.duration(True)
            lines.append(zone.prop("DUE", end))
            return self.wrap(uid, kind, [lines], zone, tags, start, None, "due-only")
        end, etags = self.end_lines(kind, zone, start, timed)
        lines += end
        tags += etags
        if rule:
            lines.append(f"RRULE:{rule}")

        # EXDATE: several lines, several values a line, sometimes in UTC
        # for a zoned series (the same instants, RFC 5545 §3.8.5.1).
        excluded = set()
        exdates = []  # their instants, for explain()
        if recurring and len(set_walls) > 2 and r.random() < 0.4:
            tags.append("exdate")
            picks = [w for w in r.sample(set_walls[1:], min(len(set_walls) - 1, r.randint(1, 5)))
                     if not zone.ambiguous(w) and w.year < 2030]
            excluded.update(picks)
            exdates += [zone.instant(w) for w in picks]
            while picks:
                n = r.randint(1, 3)
                g, picks = picks[:n], picks[n:]
                utc = timed and zone.kind not in ("floating", "utc") and r.random() < 0.3
                vals = [zone.prop("EXDATE", w, utc=utc).split(":", 1) for w in g]
                lines.append(vals[0][0] + ":" + ",".join(v[1] for v in vals))
            if r.random() < 0.2:  # one that names no instance
                lines.append(zone.prop("EXDATE", start + dt.timedelta(days=3, minutes=7) if timed
                                       else start - dt.timedelta(days=1)))

        # RDATE: dates and date-times, in the series' zone, in UTC or in
        # another zone, some repeating an instance (a set has it once).
        use_overrides = recurring and once and kind == "VEVENT" and r.random() < 0.3
        if not use_overrides and (r.random() < 0.25 or not recurring and r.random() < 0.5):
            tags.append("rdate")
            vals = []
            for _ in range(r.randint(1, 4)):
                if r.random() < 0.2 and len(set_walls) > 1:
                    w = r.choice(set_walls)
                else:
                    w = start + dt.timedelta(days=r.randint(-30, 300), hours=r.randint(0, 23) if timed else 0)
                if not zone.ambiguous(w):
                    vals.append(w)
            # (name;params, value) pairs; neighbours with the same
            # parameters sometimes share one line.
            pairs = []
            for w in vals:
                if timed and zone.kind != "floating" and r.random() < 0.3:
                    if r.random() < 0.5:
                        tokyo = Zone("iana", "Asia/Tokyo", "Asia/Tokyo")
                        p = tokyo.prop("RDATE", zone.instant(w).astimezone(tokyo.tz).replace(tzinfo=None))
                    else:
                        p = zone.prop("RDATE", w, utc=True)
                else:
                    p = zone.prop("RDATE", w)
                pairs.append(tuple(p.split(":", 1)))
            for j, (name, value) in enumerate(pairs):
                if j and pairs[j - 1][0] == name and r.random() < 0.5:
                    lines[-1] += "," + value
                else:
                    lines.append(f"{name}:{value}")

        comps = [lines]
        # Overrides: moved within the day, into another window, out of all
        # windows; with their own length.
        if use_overrides and len(set_walls) > 1:
            tags.append("overrides")
            # pytz knows transitions up to 2037 only; stay well before.
            candidates = [w for w in set_walls if w not in excluded and not zone.ambiguous(w) and w.year < 2030]
            for rid in r.sample(candidates, min(len(candidates), r.randint(1, 3))):
                shift = r.choice([dt.timedelta(0), dt.timedelta(hours=1), dt.timedelta(hours=-3),
                                  dt.timedelta(days=2), dt.timedelta(days=-40), dt.timedelta(days=400),
                                  dt.timedelta(days=-3, hours=5)])
                if not timed:
                    shift = dt.timedelta(days=shift.days)
                moved = rid + shift
                if zone.ambiguous(moved):
                    moved += dt.timedelta(hours=3)
                ov = [f"UID:{uid}", "DTSTAMP:20240101T000000Z", f"SUMMARY:recurdiff {i} moved",
                      zone.prop("RECURRENCE-ID", rid), zone.prop("DTSTART", moved)]
                end, _ = self.end_lines(kind, zone, moved, timed)
                comps.append(ov + end)
        until = None
        if rule and "UNTIL=" in rule and rule.split("UNTIL=")[1][:16].endswith("Z"):
            until = parse_utc(rule.split("UNTIL=")[1][:16])
        row = {"due": "due", "duration": "duration", "none": "start-only"}.get(etags[0].split(":")[1], "due")
        o = self.wrap(uid, kind, comps, zone, tags, start, until, row)
        o["exdates"] = exdates
        return o

    def wrap(self, uid, kind, comps, zone, tags, start, until, todo_row):
        """The object and what the comparison needs to know of it: its
        zone, DTSTART (a wall time), a UTC UNTIL, and for a VTODO which row
        of RFC 4791 §9.9's table applies (by what it has: DUE, DURATION,
        DTSTART only, DUE only)."""
        out = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Kalends//interop recurdiff//EN"]
        out += zone.vtimezone
        for c in comps:
            out += [f"BEGIN:{kind}", *c, f"END:{kind}"]
        out.append("END:VCALENDAR")
        return {"uid": uid, "kind": kind, "text": "\r\n".join(out) + "\r\n", "tags": tags, "zone": zone,
                "start": start, "until": until, "todo_row": todo_row, "exdates": []}

    def corpus(self, n):
        out = []
        i = 0
        while len(out) < n:
            o = self.obj(i)
            i += 1
            if o is not None:
                out.append(o)
        return out

    def windows(self):
        """The windows compared: the corpus' span, the days of DST changes
        in the zones used, and random ones (any second, any length)."""
        fixed = [
            ("20231201T000000Z", "20260301T000000Z"),  # everything
            ("20240310T000000Z", "20240311T000000Z"),  # US spring forward
            ("20241103T000000Z", "20241104T120000Z"),  # US fall back
            ("20240331T000000Z", "20240401T000000Z"),  # EU spring forward
            ("20251026T000000Z", "20251027T000000Z"),  # EU fall back
            ("20240406T120000Z", "20240407T180000Z"),  # Sydney, Lord Howe, Auckland fall back
            ("20250927T000000Z", "20251006T000000Z"),  # Chatham, Auckland, Sydney spring forward
        ]
        out = [(parse_utc(a), parse_utc(b)) for a, b in fixed]
        for _ in range(6):
            start = UTC.localize(dt.datetime(2024, 1, 1)) + dt.timedelta(seconds=self.rng.randint(0, 700 * 86400))
            if self.rng.random() < 0.5:
                start = start.replace(minute=0, second=0)
            length = self.rng.choice([dt.timedelta(hours=1), dt.timedelta(hours=7), dt.timedelta(days=1),
                                      dt.timedelta(days=3), dt.timedelta(days=17), dt.timedelta(days=45)])
            out.append((start, start + length))
        return out


def parse_utc(s):
    return UTC.localize(dt.datetime.strptime(s, "%Y%m%dT%H%M%SZ"))


def fmt_utc(t):
    return t.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


# --- Kalends, over HTTP ----------------------------------------------------

NS = {"D": "DAV:", "C": "urn:ietf:params:xml:ns:caldav"}


class Server:
    def __init__(self, url, user, password):
        self.url = url
        self.auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    def http(self, method, path, body=None, headers=None):
        req = urllib.request.Request(urljoin(self.url, path), data=body, method=method)
        req.add_header("Authorization", self.auth)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def query(self, cal, window, comp=None):
        """calendar-query with <C:expand> over window: {href: calendar-data}.
        comp adds a comp-filter with the window as its time-range, as a
        client asking for what happens in the window sends."""
        s, e = fmt_utc(window[0]), fmt_utc(window[1])
        inner = f'<C:comp-filter name="{comp}"><C:time-range start="{s}" end="{e}"/></C:comp-filter>' if comp else ""
        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            '<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            f'<D:prop><D:getetag/><C:calendar-data><C:expand start="{s}" end="{e}"/></C:calendar-data></D:prop>'
            f'<C:filter><C:comp-filter name="VCALENDAR">{inner}</C:comp-filter></C:filter>'
            "</C:calendar-query>"
        ).encode()
        status, data = self.http("REPORT", cal, body, {"Depth": "1", "Content-Type": "application/xml; charset=utf-8"})
        if status != 207:
            raise RuntimeError(f"REPORT {s}..{e} {comp or ''}: {status} {data[:300]!r}")
        out = {}
        for resp in ET.fromstring(data).findall("D:response", NS):
            href = unquote(resp.findtext("D:href", namespaces=NS))
            cd = resp.find(".//C:calendar-data", NS)
            out[href] = cd.text if cd is not None else None
        return out


def as_utc(v):
    """DATE and floating values in UTC, as Kalends reads them when the
    calendar has no calendar-timezone (RFC 4791 §9.8's default)."""
    if isinstance(v, dt.datetime):
        return UTC.localize(v) if v.tzinfo is None else v.astimezone(UTC)
    return UTC.localize(dt.datetime(v.year, v.month, v.day))


def kalends_instances(data):
    """(start, end) in UTC of every instance of an expanded calendar-data."""
    out = []
    if not data:
        return out
    for c in icalendar.Calendar.from_ical(data).walk():
        if c.name not in ("VEVENT", "VTODO"):
            continue
        if "DTSTART" in c:
            start = c["DTSTART"].dt
        else:
            start = c["DUE"].dt
        if "DTEND" in c:
            end = c["DTEND"].dt
        elif "DUE" in c:
            end = c["DUE"].dt
        elif "DURATION" in c:
            end = start + c["DURATION"].dt
        elif c.name == "VEVENT" and not isinstance(start, dt.datetime):
            end = start + dt.timedelta(days=1)
        else:
            end = start
        out.append((as_utc(start), as_utc(end)))
    return sorted(out)


# --- the independent engine ------------------------------------------------

def todo_overlaps(row, start, end, ws, we):
    """RFC 4791 §9.9's VTODO table (the engine tests VTODOs like VEVENTs)."""
    if row == "duration":
        return ws <= end and (we > start or we >= end)
    if row == "due":
        return (ws < end or ws <= start) and (we > start or we >= end)
    if row == "start-only":
        return ws <= start < we
    return ws < end <= we  # DUE only


def rfc_instant(tz, wall):
    """RFC 5545 §3.3.5's reading of a local time in a pytz zone: one a DST
    gap skips takes the offset before the gap, one that occurs twice its
    first occurrence."""
    try:
        return tz.localize(wall, is_dst=None).astimezone(UTC)
    except pytz.AmbiguousTimeError:
        return min(tz.localize(wall, is_dst=d).astimezone(UTC) for d in (True, False))
    except pytz.NonExistentTimeError:
        off = tz.localize(wall - dt.timedelta(days=1), is_dst=False).utcoffset()
        return UTC.localize(wall - off)


def ambiguous(tz, wall):
    """Whether a local time occurs twice in a pytz zone."""
    try:
        tz.localize(wall, is_dst=None)
    except pytz.AmbiguousTimeError:
        return True
    except pytz.NonExistentTimeError:
        pass
    return False


def overlaps(s, e, ws, we):
    """RFC 4791 §9.9 for a VEVENT instance (what the engine tests too)."""
    return ws < e and we > s if e > s else ws <= s < we


class Python:
    def __init__(self, obj):
        self.obj = obj
        cal = icalendar.Calendar.from_ical(obj["text"])
        self.unfold = recurring_ical_events.of(cal, components=[obj["kind"]])
        # Whether an instance's end may change below (an all-day event
        # without an end, a DURATION in days): those need a wider ask.
        self.wide = obj["kind"] == "VEVENT" and (
            obj["zone"].kind == "date" or re.search(r"DURATION:P\d+[DW]", obj["text"]) is not None)

    def instances(self, window, notes):
        """The engine's instances overlapping window: (start, end) in UTC,
        with its known differences allowed for (KNOWN_PYTHON_DIFFERENCES)."""
        ws, we = window
        kind = self.obj["kind"]
        exact = None
        if kind == "VTODO":
            # A wider window, then §9.9's VTODO test: anything it accepts
            # overlaps the wider window.
            evs = self.unfold.between(ws - dt.timedelta(days=2), we + dt.timedelta(days=2))
        elif self.wide:
            # An instance whose end moves may overlap the window only then:
            # ask from two days earlier, and test those again.
            exact = {self.key(e) for e in self.unfold.between(ws, we)}
            evs = self.unfold.between(ws - dt.timedelta(days=2), we)
        else:
            evs = self.unfold.between(ws, we)
        out = []
        masters = []
        for e in evs:
            start = e["DTSTART"].dt
            end = e["DTEND" if kind == "VEVENT" else "DUE"].dt
            s, en = as_utc(start), as_utc(end)
            changed = False
            tz = getattr(start, "tzinfo", None)
            if isinstance(start, dt.datetime) and tz is not None and hasattr(tz, "localize") and tz is not UTC:
                wall = start.replace(tzinfo=None)
                first = rfc_instant(tz, wall)
                if first != s and ambiguous(tz, wall):
                    notes["ambiguous"] += 1
                    s, en, changed = first, en + (first - s), True
                dur = e.get("DURATION")
                if dur is not None and dur.dt.days:
                    # From the clock reading the start really has (a wall
                    # time in a gap is read later, RFC 5545 §3.3.5).
                    local = s.astimezone(tz).replace(tzinfo=None)
                    nominal = rfc_instant(tz, local + dt.timedelta(days=dur.dt.days)) + dt.timedelta(seconds=dur.dt.seconds)
                    if nominal != en:
                        notes["nominal-duration"] += 1
                        en, changed = nominal, True
            if kind == "VEVENT" and not isinstance(start, dt.datetime) and end == start:
                notes["allday-no-end"] += 1
                en, changed = s + dt.timedelta(days=1), True
            if kind == "VEVENT" and (changed or exact is not None) and not (
                    overlaps(s, en, ws, we) if changed else self.key(e) in exact):
                continue
            if "RECURRENCE-ID" not in e:
                # The engine's instances of the master (its overrides carry
                # RECURRENCE-ID): the same instant twice is one instance.
                if (s, en) in masters:
                    notes["duplicate"] += 1
                    continue
                masters.append((s, en))
            out.append((s, en))
        if kind == "VTODO":
            row = self.obj["todo_row"]
            out = [(s, e) for s, e in out if todo_overlaps(row, s, e, ws, we)]
        return sorted(out)

    @staticmethod
    def key(e):
        return (e["DTSTART"].dt, e["DTEND"].dt, "RECURRENCE-ID" in e)


def explain(obj, window, kalends_only, python_only, python_all):
    """The known engine difference that accounts for every instance only
    Kalends has (with none only the engine has), or None."""
    if python_only or not kalends_only:
        return None
    if "until:before-dtstart" in obj["tags"] and len(kalends_only) == 1 and \
            kalends_only[0][0] == obj["zone"].instant(obj["start"]):
        return {"until-before-start"}
    # The engine looks for instances from lo to hi (whole days), widened
    # by the event's length when lo is after DTSTART, then tests the window.
    ws, we = window
    lo = ws.replace(hour=0, minute=0, second=0)
    hi = we.replace(hour=23, minute=59, second=59)
    first = obj["zone"].instant(obj["start"])
    if "rdate" in obj["tags"] and lo <= first and all(s < lo and ws < e for s, e in kalends_only):
        return {"early-rdate"}
    zone = obj["zone"]
    if zone.tz is None or zone.kind == "date":
        return None
    dtstart_off = first - UTC.localize(obj["start"])  # minus DTSTART's UTC offset

    def wrong(t):
        """The instant dateutil has for a rule instance at t: its local
        time read with DTSTART's offset."""
        return UTC.localize(t.astimezone(zone.tz).replace(tzinfo=None)) + dtstart_off

    reasons = set()
    for s, e in kalends_only:
        if not (ws < e and we > s or s == e and ws <= s < we):
            return None  # Kalends' instance does not even overlap
        if "rdate" in obj["tags"] and (any(ps == wrong(s) != s for ps, _ in python_all) or
                                       any(wrong(ps) == s != ps for ps, _ in python_all)):
            # A rule instance and an RDATE, one of them lost.
            reasons.add("dst-merge")
            continue
        w = wrong(s)
        if w == s:
            return None
        until = obj["until"]
        if w in obj["exdates"]:
            reasons.add("dst-exdate")
        elif until is not None and s <= until < w:
            reasons.add("until-dst")
        elif w < (lo - (e - s) if lo > first else lo) or w > hi:
            reasons.add("window-dst")
        else:
            return None
    return reasons


# --- the comparison --------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("user")
    ap.add_argument("password")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--objects", type=int, default=300)
    ap.add_argument("--dump", help="write the corpus and every disagreement here")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    seed = int(os.environ.get("RECURDIFF_SEED", args.seed))
    checks = Checks("recurdiff")
    t0 = time.monotonic()

    gen = Gen(seed)
    corpus = gen.corpus(args.objects)
    windows = gen.windows()
    print(f"recurdiff: seed {seed} (RECURDIFF_SEED=N for another), {len(corpus)} objects, "
          f"{len(windows)} windows; engine: recurring_ical_events {getattr(recurring_ical_events, '__version__', '2.0.1')}, "
          f"icalendar {icalendar.__version__}, pytz {pytz.__version__}")
    if args.dump:
        os.makedirs(args.dump, exist_ok=True)
        for o in corpus:
            with open(os.path.join(args.dump, o["uid"] + ".ics"), "w", newline="") as f:
                f.write(o["text"])

    server = Server(args.url, args.user, args.password)
    cal = f"/calendars/{args.user}/recurdiff-{seed}-{os.getpid()}/"
    status, body = server.http("MKCALENDAR", cal)
    if not checks.check("MKCALENDAR of a calendar without calendar-timezone", status == 201, f"{status} {body[:200]!r}"):
        checks.finish()
    by_href = {}
    refused = []
    for o in corpus:
        href = cal + o["uid"] + ".ics"
        status, body = server.http("PUT", quote(href), o["text"].encode(),
                                   {"Content-Type": "text/calendar; charset=utf-8", "If-None-Match": "*"})
        if status != 201:
            refused.append(f"{o['uid']}: {status} {body[:200]!r}")
        else:
            by_href[href] = o
    checks.check(f"PUT of all {len(corpus)} objects", not refused, "; ".join(refused[:5]))
    t_put = time.monotonic()

    engines = {}
    for href, o in by_href.items():
        try:
            engines[href] = Python(o)
        except Exception as e:  # noqa: BLE001 - a corpus the engine cannot read is a generator bug
            checks.check(f"the engine reads {o['uid']}", False, f"{type(e).__name__}: {e}")

    notes = defaultdict(int)
    set_aside = defaultdict(int)
    per_tag = defaultdict(lambda: {"objects": set(), "instances": 0, "bad": []})
    index_bad = []
    diffs = []
    for window in windows:
        try:
            got = server.query(cal, window)
            filtered = {}
            for comp in ("VEVENT", "VTODO"):
                filtered.update(server.query(cal, window, comp))
        except Exception as e:  # noqa: BLE001
            checks.check(f"calendar-query with expand over {fmt_utc(window[0])}..{fmt_utc(window[1])}", False, str(e))
            continue
        for href, py in engines.items():
            o = by_href[href]
            k = kalends_instances(got.get(href))
            # The time-range filter must select the objects expand finds
            # instances of (both are RFC 4791 §9.9's overlap).
            if bool(k) != (href in filtered):
                index_bad.append(f"{o['uid']} in {fmt_utc(window[0])}..{fmt_utc(window[1])}: "
                                 f"{len(k)} instances, filter {'selected' if href in filtered else 'missed'} it")
            err = None
            try:
                p = py.instances(window, notes)
            except Exception as e:  # noqa: BLE001 - reported as a disagreement
                p = None
                err = f"the engine raised {type(e).__name__}: {e}"
            ok = p == k
            why = None
            if p is not None and not ok:
                # Multisets: an override moved onto another instance's time
                # is an instance of its own (RFC 5545 §3.8.4.4).
                ko = sorted((Counter(k) - Counter(p)).elements())
                po = sorted((Counter(p) - Counter(k)).elements())
                why = explain(o, window, ko, po, p)
                if why:
                    for w in why:
                        set_aside[w] += 1
                    ok = True
            for tag in o["tags"]:
                t = per_tag[tag]
                t["objects"].add(href)
                t["instances"] += len(k)
                if not ok:
                    t["bad"].append(href)
            if not ok:
                detail = err if p is None else "\n".join(
                    [f"    Kalends only: {fmt_utc(s)}..{fmt_utc(e)}" for s, e in ko] +
                    [f"    engine only:  {fmt_utc(s)}..{fmt_utc(e)}" for s, e in po])
                msg = f"DIFF {o['uid']} [{' '.join(o['tags'])}] window {fmt_utc(window[0])}..{fmt_utc(window[1])}:\n{detail}"
                diffs.append(msg)
                if args.dump:
                    with open(os.path.join(args.dump, "diffs.txt"), "a") as f:
                        f.write(msg + "\n" + o["text"] + "\n")
    t_cmp = time.monotonic()

    for msg in diffs[: 40 if args.verbose else 8]:
        print(msg)
    if len(diffs) > 8 and not args.verbose:
        print(f"... and {len(diffs) - 8} more (--verbose, --dump DIR)")
    for tag in sorted(per_tag):
        t = per_tag[tag]
        bad = sorted(set(t["bad"]))
        checks.check(f"{tag}: {len(t['objects'])} objects, {len(windows)} windows, {t['instances']} instances",
                     not bad, f"{len(bad)} objects differ: " + " ".join(by_href[h]["uid"] for h in bad[:5]))
    checks.check(f"time-range filter selects exactly the objects with instances ({len(windows)} windows)",
                 not index_bad, "; ".join(index_bad[:5]))
    for k, n in sorted(notes.items()):
        print(f"NOTE recurdiff: allowed for {n}x: {KNOWN_PYTHON_DIFFERENCES[k]}")
    for k, n in sorted(set_aside.items()):
        print(f"NOTE recurdiff: set aside {n} object-windows: {KNOWN_PYTHON_DIFFERENCES[k]}")
    server.http("DELETE", cal)
    print(f"recurdiff: generate {t_put - t0:.1f} s (with PUT), compare {t_cmp - t_put:.1f} s")
    checks.finish()


if __name__ == "__main__":
    main()
