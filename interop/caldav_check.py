#!/usr/bin/python3
"""python3-caldav (Debian's package) against a running Kalends server.

Usage: /usr/bin/python3 caldav_check.py URL USER PASSWORD

Does what a script built on python-caldav does: discovery from the server
URL (principal, calendar-home-set, calendars), MKCALENDAR, saving events
(a timed one, a recurring one, an all-day one), fetching by URL and by UID,
a time-range search, modifying, deleting, sync-collection (initial and
incremental, which must see exactly the changes made in between) and
deleting the calendar. Prints one PASS/FAIL line per check and a closing
"N passed, M failed"; exits 1 if anything failed.

Run it with /usr/bin/python3: the caldav module is Debian's python3-caldav,
which a pyenv python3 earlier on PATH does not see.
"""

import sys
import uuid
from datetime import datetime, timezone
from urllib.parse import urlparse

import caldav
from caldav.lib import error

from checks import Checks

URL, USER, PASSWORD = sys.argv[1:4]
checks = Checks("caldav")
check, step = checks.check, checks.step




def path(url):
    return urlparse(str(url)).path


RUN = uuid.uuid4().hex[:8]
UID_TIMED = f"py-timed-{RUN}@kalends.test"
UID_RRULE = f"py-rrule-{RUN}@kalends.test"
UID_ALLDAY = f"py-allday-{RUN}@kalends.test"
STAMP = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def vevent(uid, summary, lines):
    return "\r\n".join(
        [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//Kalends//interop caldav_check//EN",
            "BEGIN:VEVENT",
            f"UID:{uid}",
            f"DTSTAMP:{STAMP}",
            f"SUMMARY:{summary}",
            *lines,
            "END:VEVENT",
            "END:VCALENDAR",
            "",
        ]
    )


ICS_TIMED = vevent(
    UID_TIMED,
    "Python timed",
    ["DTSTART:20300107T090000Z", "DTEND:20300107T100000Z", "SEQUENCE:0"],
)
# Weekly on Mondays from 2030-01-07, five occurrences; the fourth is 2030-01-28.
ICS_RRULE = vevent(
    UID_RRULE,
    "Python weekly",
    [
        "DTSTART:20300107T140000Z",
        "DTEND:20300107T150000Z",
        "RRULE:FREQ=WEEKLY;COUNT=5",
    ],
)
ICS_ALLDAY = vevent(
    UID_ALLDAY,
    "Python all-day",
    ["DTSTART;VALUE=DATE:20300110", "DTEND;VALUE=DATE:20300111"],
)


def main():
    bad = caldav.DAVClient(url=URL, username=USER, password=PASSWORD + "-wrong")
    try:
        bad.principal()
        check("a wrong password is refused", False, "principal() answered")
    except error.AuthorizationError:
        check("a wrong password is refused", True)
    except Exception as e:  # noqa: BLE001
        check("a wrong password is refused", False, f"{type(e).__name__}: {e}")

    client = caldav.DAVClient(url=URL, username=USER, password=PASSWORD)

    # Discovery: current-user-principal, then calendar-home-set.
    principal = step("principal()", client.principal)
    if principal is None:
        return
    check(
        "principal URL is /principals/users/%s/" % USER,
        path(principal.url) == f"/principals/users/{USER}/",
        str(principal.url),
    )
    cals = step("principal.calendars()", principal.calendars) or []
    cal_paths = [path(c.url) for c in cals]
    check(
        "calendars() lists the default calendar",
        f"/calendars/{USER}/default/" in cal_paths,
        repr(cal_paths),
    )

    # MKCALENDAR with a displayname (caldav also PROPPATCHes the name).
    cal_id = f"py-{RUN}"
    cal = step(
        "make_calendar",
        lambda: principal.make_calendar(name="Python interop", cal_id=cal_id),
    )
    if cal is None:
        return
    check(
        "make_calendar at the home",
        path(cal.url) == f"/calendars/{USER}/{cal_id}/",
        str(cal.url),
    )
    name = step("get_display_name", cal.get_display_name)
    check("new calendar's displayname", name == "Python interop", repr(name))
    if step("set_properties displayname (PROPPATCH)", lambda: cal.set_properties([caldav.elements.dav.DisplayName("Python interop (renamed)")]) or True):
        name = step("get_display_name after PROPPATCH", cal.get_display_name)
        check("PROPPATCH changed the displayname", name == "Python interop (renamed)", repr(name))
    cal_paths = [path(c.url) for c in (step("calendars() again", principal.calendars) or [])]
    check("calendars() lists the new calendar", path(cal.url) in cal_paths, repr(cal_paths))
    comps = step("get_supported_components", cal.get_supported_components)
    check("supported components include VEVENT", comps is not None and "VEVENT" in comps, repr(comps))

    # Initial sync of the empty calendar: no objects, a token.
    initial = step("objects_by_sync_token() initial", lambda: cal.objects_by_sync_token(load_objects=True))
    if initial is None:
        return
    check("initial sync of an empty calendar has no objects", len(list(initial)) == 0, repr(list(initial)))
    check("initial sync returns a sync-token", bool(initial.sync_token), repr(initial.sync_token))
    token0 = initial.sync_token

    # save_event: timed, recurring, all-day.
    saved = {}
    for uid, ics in ((UID_TIMED, ICS_TIMED), (UID_RRULE, ICS_RRULE), (UID_ALLDAY, ICS_ALLDAY)):
        ev = step(f"save_event {uid}", lambda ics=ics: cal.save_event(ics))
        if ev is not None:
            check(f"save_event {uid.split('-')[1]}", ev.url is not None and path(ev.url).startswith(path(cal.url)), str(ev.url))
            saved[uid] = ev
    if len(saved) != 3:
        return

    # By URL: a fresh GET.
    for uid, ev in saved.items():
        got = step(f"event_by_url {uid}", lambda ev=ev: cal.event_by_url(ev.url))
        if got is not None:
            c = got.icalendar_component
            check(f"event_by_url returns {uid.split('-')[1]}", str(c.get("UID")) == uid, got.data[:200])
    got = step("event_by_url all-day", lambda: cal.event_by_url(saved[UID_ALLDAY].url))
    if got is not None:
        dt = got.icalendar_component.get("DTSTART")
        check("all-day DTSTART stays a DATE", dt is not None and not isinstance(dt.dt, datetime), repr(dt))
    got = step("event_by_url recurring", lambda: cal.event_by_url(saved[UID_RRULE].url))
    if got is not None:
        check("recurring event keeps its RRULE", "RRULE" in got.icalendar_component, got.data[:300])

    # By UID: calendar-query with a UID prop-filter.
    got = step("event_by_uid", lambda: cal.event_by_uid(UID_RRULE))
    if got is not None:
        check("event_by_uid finds the recurring event", path(got.url) == path(saved[UID_RRULE].url), str(got.url))
    try:
        cal.event_by_uid(f"no-such-{RUN}")
        check("event_by_uid of an unknown UID raises NotFoundError", False, "returned something")
    except error.NotFoundError:
        check("event_by_uid of an unknown UID raises NotFoundError", True)
    except Exception as e:  # noqa: BLE001
        check("event_by_uid of an unknown UID raises NotFoundError", False, f"{type(e).__name__}: {e}")

    # Time-range search: 2030-01-27..29 holds only the recurring event's
    # fourth occurrence (the timed one is on the 7th, the all-day on the 10th).
    found = step(
        "date_search (calendar-query time-range)",
        lambda: cal.date_search(
            start=datetime(2030, 1, 27, tzinfo=timezone.utc),
            end=datetime(2030, 1, 29, tzinfo=timezone.utc),
            expand=False,
        ),
    )
    if found is not None:
        got_paths = sorted(path(e.url) for e in found)
        check("time-range search finds only the recurring event", got_paths == [path(saved[UID_RRULE].url)], repr(got_paths))
    found = step(
        "date_search of the all-day day",
        lambda: cal.date_search(
            start=datetime(2030, 1, 10, 12, tzinfo=timezone.utc),
            end=datetime(2030, 1, 10, 13, tzinfo=timezone.utc),
            expand=False,
        ),
    )
    if found is not None:
        got_paths = sorted(path(e.url) for e in found)
        check("time-range search finds the all-day event", got_paths == [path(saved[UID_ALLDAY].url)], repr(got_paths))
    # Server-side expansion (calendar-data <C:expand/>): python-caldav would
    # expand on the client when the server returns the RRULE, so look at what
    # the server answered before that.
    def expanded():
        root, _ = cal.build_search_xml_query(
            comp_class=caldav.objects.Event,
            start=datetime(2030, 1, 14, tzinfo=timezone.utc),
            end=datetime(2030, 1, 29, tzinfo=timezone.utc),
            expand=True,
        )
        return cal._request_report_build_resultlist(root, caldav.objects.Event)[1]
    found = step("calendar-query with expand", expanded)
    if found is not None:
        check("expand returns the recurring event only", [path(o.url) for o in found] == [path(saved[UID_RRULE].url)], repr([str(o.url) for o in found]))
        if found:
            data = found[0].data
            comps = [c for c in found[0].icalendar_instance.subcomponents if c.name == "VEVENT"]
            rids = sorted(c.get("RECURRENCE-ID").dt.strftime("%Y%m%dT%H%M%SZ") for c in comps if c.get("RECURRENCE-ID"))
            check("expand: no RRULE left", "RRULE" not in data, data[:400])
            check("expand: the three occurrences in range, by RECURRENCE-ID", rids == ["20300114T140000Z", "20300121T140000Z", "20300128T140000Z"], repr(rids) + " " + data[:600])
    events = step("events()", cal.events)
    if events is not None:
        got_paths = sorted(path(e.url) for e in events)
        want = sorted(path(e.url) for e in saved.values())
        check("events() lists the three events", got_paths == want, repr(got_paths))

    # Incremental sync since the empty calendar: exactly the three creations.
    coll = step("objects_by_sync_token(token0)", lambda: cal.objects_by_sync_token(sync_token=token0, load_objects=False))
    if coll is not None:
        got_paths = sorted(path(o.url) for o in coll)
        want = sorted(path(e.url) for e in saved.values())
        check("incremental sync sees exactly the three new events", got_paths == want, repr(got_paths))
        check("incremental sync returns a new token", coll.sync_token and coll.sync_token != token0, repr(coll.sync_token))

    snapshot = step("objects(load_objects=True)", lambda: cal.objects(load_objects=True))
    if snapshot is None:
        return
    check("full sync lists the three events", len(list(snapshot)) == 3, repr([str(o.url) for o in snapshot]))

    # Modify the timed event and save it (PUT over the same URL).
    ev = saved[UID_TIMED]
    def modify():
        ev.load()
        ev.icalendar_component["SUMMARY"] = "Réunion déplacée — café ☕ (moved)"
        ev.icalendar_component["LOCATION"] = "Room 101"
        ev.save()
        return True
    if step("modify and save", modify):
        again = step("reload modified", lambda: cal.event_by_url(ev.url))
        if again is not None:
            c = again.icalendar_component
            check("modified event has the new SUMMARY", str(c.get("SUMMARY")) == "Réunion déplacée — café ☕ (moved)", again.data[:300])
            check("modified event has its LOCATION", str(c.get("LOCATION")) == "Room 101", again.data[:300])

    # Delete the all-day event.
    gone = saved[UID_ALLDAY]
    if step("delete", lambda: gone.delete() or True):
        try:
            cal.event_by_url(gone.url)
            check("deleted event is gone (404)", False, "still there")
        except error.NotFoundError:
            check("deleted event is gone (404)", True)
        except Exception as e:  # noqa: BLE001
            check("deleted event is gone (404)", False, f"{type(e).__name__}: {e}")

    # Incremental sync: exactly one update and one deletion.
    res = step("SynchronizableCalendarObjectCollection.sync()", snapshot.sync)
    if res is not None:
        updated, deleted = res
        check("sync sees exactly the modified event", sorted(path(o.url) for o in updated) == [path(ev.url)], repr([str(o.url) for o in updated]))
        check("sync sees exactly the deleted event", sorted(path(o.url) for o in deleted) == [path(gone.url)], repr([str(o.url) for o in deleted]))
        check("synced snapshot holds two events", len(list(snapshot)) == 2, repr([str(o.url) for o in snapshot]))
        mod = [o for o in updated if path(o.url) == path(ev.url)]
        check("synced copy has the new SUMMARY", bool(mod) and "Réunion déplacée — café ☕ (moved)" in mod[0].data, mod[0].data[:300] if mod else "")
        res2 = step("sync() with no changes", snapshot.sync)
        if res2 is not None:
            check("sync with no changes sees nothing", res2 == ([], []), repr(res2))

    # A task in the same calendar.
    uid_todo = f"py-todo-{RUN}@kalends.test"
    todo = step("save_todo", lambda: cal.save_todo("\r\n".join([
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Kalends//interop caldav_check//EN",
        "BEGIN:VTODO", f"UID:{uid_todo}", f"DTSTAMP:{STAMP}", "SUMMARY:Python task", "DUE:20300201T170000Z", "STATUS:NEEDS-ACTION",
        "END:VTODO", "END:VCALENDAR", ""])))
    if todo is not None:
        todos = step("todos()", cal.todos)
        if todos is not None:
            check("todos() lists the task", [path(t.url) for t in todos] == [path(todo.url)], repr([str(t.url) for t in todos]))
        events = step("events() with a task present", cal.events)
        if events is not None:
            check("events() leaves the task out", path(todo.url) not in [path(e.url) for e in events], repr([str(e.url) for e in events]))
        if step("todo.complete()", lambda: todo.complete() or True):
            todos = step("todos() after complete", cal.todos)
            if todos is not None:
                check("a completed task leaves todos()", todos == [], repr([str(t.url) for t in todos]))
            got = step("load completed task", lambda: cal.event_by_url(todo.url))
            if got is not None:
                check("completed task has STATUS:COMPLETED", "STATUS:COMPLETED" in got.data, got.data[:400])

    # Delete the calendar.
    if step("calendar.delete()", lambda: cal.delete() or True):
        cal_paths = [path(c.url) for c in (step("calendars() after delete", principal.calendars) or [])]
        check("deleted calendar no longer listed", path(cal.url) not in cal_paths and f"/calendars/{USER}/default/" in cal_paths, repr(cal_paths))
        try:
            cal.objects_by_sync_token()
            check("sync on the deleted calendar fails", False, "answered")
        except (error.NotFoundError, error.ReportError, error.DAVError):
            check("sync on the deleted calendar fails", True)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001
        check("unexpected error", False, f"{type(e).__name__}: {e}")
        traceback.print_exc(file=sys.stdout)
    checks.finish()
