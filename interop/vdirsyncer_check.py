#!/usr/bin/python3
"""vdirsyncer (Debian's package) two-way sync against a running Kalends server.

Usage: /usr/bin/python3 vdirsyncer_check.py URL USER PASSWORD WORKDIR

A pair between a local filesystem storage (one .ics file per item) and the
server's caldav storage, with the collections discovered from the server
URL ("from b"). Changes are made on both sides between syncs: on the
local side by writing and removing files, as a user of khal or a script
would; on the server side over plain HTTP (PUT/DELETE with If-Match,
MKCALENDAR), as another CalDAV client would. After every sync both sides
must hold exactly the expected items (UID -> SUMMARY), read back
independently: the local files from disk, the server's objects by
PROPFIND Depth 1 and a GET of each.

Prints one PASS/FAIL line per check and "N passed, M failed"; exits 1 if
anything failed. Run with /usr/bin/python3 (stdlib only, but vdirsyncer's
entry point is Debian's /usr/bin/vdirsyncer).
"""

import base64
import glob
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from urllib.parse import urljoin, urlparse

from checks import Checks

URL, USER, PASSWORD, WORK = sys.argv[1:5]
checks = Checks("vdirsyncer")
check = checks.check
VDIRSYNCER = os.environ.get("VDIRSYNCER", "/usr/bin/vdirsyncer")



# --- a tiny HTTP client for the "other client" side ------------------------

AUTH = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


def http(method, path, body=None, headers=None):
    req = urllib.request.Request(urljoin(URL, path), data=body, method=method)
    req.add_header("Authorization", AUTH)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def server_items(cal_path):
    """UID -> SUMMARY of every object in the calendar, by PROPFIND + GET."""
    status, _, body = http(
        "PROPFIND",
        cal_path,
        b'<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>',
        {"Depth": "1", "Content-Type": "application/xml"},
    )
    if status != 207:
        raise RuntimeError(f"PROPFIND {cal_path}: {status} {body[:300]!r}")
    items = {}
    for resp in ET.fromstring(body).findall("{DAV:}response"):
        href = resp.findtext("{DAV:}href")
        if not href or urlparse(href).path.rstrip("/") == cal_path.rstrip("/"):
            continue
        s, h, data = http("GET", href)
        if s != 200:
            raise RuntimeError(f"GET {href}: {s}")
        uid, summary = parse(data.decode())
        items[uid] = summary
    return items


def local_items(directory):
    items = {}
    for f in sorted(glob.glob(os.path.join(directory, "*.ics"))):
        with open(f, encoding="utf-8") as fh:
            uid, summary = parse(fh.read())
        items[uid] = summary
    return items


def parse(text):
    """(UID, SUMMARY) of the first VEVENT, after unfolding."""
    text = text.replace("\r\n", "\n").replace("\n ", "").replace("\n\t", "")
    uid = summary = None
    in_event = False
    for line in text.split("\n"):
        if line == "BEGIN:VEVENT":
            in_event = True
        elif line == "END:VEVENT":
            break
        elif in_event:
            name = line.split(":", 1)[0].split(";", 1)[0].upper()
            value = line.split(":", 1)[1] if ":" in line else ""
            if name == "UID" and uid is None:
                uid = value
            elif name == "SUMMARY" and summary is None:
                summary = value
    return uid, summary


RUN = uuid.uuid4().hex[:8]
STAMP = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def ics(uid, summary, day):
    return "\r\n".join(
        [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//Kalends//interop vdirsyncer_check//EN",
            "BEGIN:VEVENT",
            f"UID:{uid}",
            f"DTSTAMP:{STAMP}",
            f"DTSTART:203006{day:02d}T090000Z",
            f"DTEND:203006{day:02d}T100000Z",
            f"SUMMARY:{summary}",
            "END:VEVENT",
            "END:VCALENDAR",
            "",
        ]
    )


def server_put(cal_path, uid, summary, day, etag=None):
    headers = {"Content-Type": "text/calendar; charset=utf-8"}
    headers["If-Match" if etag else "If-None-Match"] = etag or "*"
    s, h, b = http("PUT", f"{cal_path}{uid}.ics", ics(uid, summary, day).encode(), headers)
    if s not in (201, 204):
        raise RuntimeError(f"PUT {cal_path}{uid}.ics: {s} {b[:300]!r}")


def server_href_of(cal_path, uid):
    """The href and ETag under which the server holds UID (vdirsyncer may
    have chosen the name)."""
    status, _, body = http(
        "PROPFIND",
        cal_path,
        b'<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>',
        {"Depth": "1", "Content-Type": "application/xml"},
    )
    for resp in ET.fromstring(body).findall("{DAV:}response"):
        href = resp.findtext("{DAV:}href")
        etag = resp.findtext(".//{DAV:}getetag")
        if href and href.endswith(".ics"):
            s, h, data = http("GET", href)
            if parse(data.decode())[0] == uid:
                return href, etag
    raise RuntimeError(f"{uid} not on the server")


def local_file_of(directory, uid):
    for f in glob.glob(os.path.join(directory, "*.ics")):
        with open(f, encoding="utf-8") as fh:
            if parse(fh.read())[0] == uid:
                return f
    raise RuntimeError(f"{uid} not in {directory}")


# --- vdirsyncer ---------------------------------------------------------------

CONFIG = os.path.join(WORK, "config")
LOCAL = os.path.join(WORK, "local")


def write_config():
    os.makedirs(os.path.join(WORK, "status"), exist_ok=True)
    os.makedirs(LOCAL, exist_ok=True)
    with open(CONFIG, "w") as f:
        f.write(
            f"""[general]
status_path = "{WORK}/status/"

[pair kalends]
a = "local"
b = "server"
collections = ["from b"]
conflict_resolution = "b wins"
metadata = ["displayname", "color"]

[storage local]
type = "filesystem"
path = "{LOCAL}/"
fileext = ".ics"

[storage server]
type = "caldav"
url = "{URL}"
username = "{USER}"
password = "{PASSWORD}"
"""
        )


def vdirsyncer(*args):
    p = subprocess.run(
        [VDIRSYNCER, "-c", CONFIG, *args],
        input="y\n" * 20,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = (p.stdout + p.stderr).strip()
    for line in out.splitlines():
        print(f"    | {line}")
    return p.returncode, out


def compare(step, cal_path, expect):
    """Both sides hold exactly `expect` (UID -> SUMMARY)."""
    name = cal_path.rstrip("/").rsplit("/", 1)[-1]
    try:
        remote = server_items(cal_path)
    except Exception as e:  # noqa: BLE001
        return check(f"{step}: server side of {name}", False, str(e))
    local = local_items(os.path.join(LOCAL, name))
    check(f"{step}: server side of {name} is as expected", remote == expect, f"server {remote!r} != expected {expect!r}")
    check(f"{step}: local side of {name} is as expected", local == expect, f"local {local!r} != expected {expect!r}")


def sync(step):
    rc, out = vdirsyncer("sync")
    return check(f"{step}: vdirsyncer sync exits 0", rc == 0, f"exit {rc}")


def main():
    if os.path.exists(WORK):
        shutil.rmtree(WORK)
    os.makedirs(WORK)
    write_config()
    cal = f"/calendars/{USER}/default/"
    cal_dir = os.path.join(LOCAL, "default")
    uid = {k: f"vds-{k}-{RUN}@kalends.test" for k in ("s1", "s2", "l1", "l2", "w1")}

    # 0. The server has an event before the first sync.
    server_put(cal, uid["s1"], "server one", 1)

    # 1. discover: the server's calendars become local folders.
    rc, out = vdirsyncer("discover")
    check("discover exits 0", rc == 0, f"exit {rc}")
    check("discover finds the default calendar", os.path.isdir(cal_dir), repr(os.listdir(LOCAL)))
    if not sync("initial sync"):
        return
    compare("initial sync", cal, {uid["s1"]: "server one"})

    # 2. Create on both sides.
    with open(os.path.join(cal_dir, f"{uid['l1']}.ics"), "w", encoding="utf-8", newline="") as f:
        f.write(ics(uid["l1"], "local one", 2))
    with open(os.path.join(cal_dir, "local-two.ics"), "w", encoding="utf-8", newline="") as f:
        f.write(ics(uid["l2"], "local two — Grüße ☃", 3))
    server_put(cal, uid["s2"], "server two", 4)
    sync("create on both sides")
    compare(
        "create on both sides",
        cal,
        {uid["s1"]: "server one", uid["s2"]: "server two", uid["l1"]: "local one", uid["l2"]: "local two — Grüße ☃"},
    )

    # 3. Modify on both sides: the local copy of s1, the server copy of l1.
    path = local_file_of(cal_dir, uid["s1"])
    with open(path, encoding="utf-8", newline="") as f:
        text = f.read()
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text.replace("SUMMARY:server one", "SUMMARY:server one, edited locally"))
    href, etag = server_href_of(cal, uid["l1"])
    s, _, b = http(
        "PUT",
        href,
        ics(uid["l1"], "local one, edited on the server", 2).encode(),
        {"Content-Type": "text/calendar; charset=utf-8", "If-Match": etag},
    )
    check("server-side edit of a vdirsyncer-made object (If-Match)", s == 204, f"{s} {b[:200]!r}")
    sync("modify on both sides")
    compare(
        "modify on both sides",
        cal,
        {
            uid["s1"]: "server one, edited locally",
            uid["s2"]: "server two",
            uid["l1"]: "local one, edited on the server",
            uid["l2"]: "local two — Grüße ☃",
        },
    )

    # 4. Delete on both sides: s2 locally, l2 on the server.
    os.remove(local_file_of(cal_dir, uid["s2"]))
    href, etag = server_href_of(cal, uid["l2"])
    s, _, b = http("DELETE", href, None, {"If-Match": etag})
    check("server-side DELETE (If-Match)", s == 204, f"{s} {b[:200]!r}")
    sync("delete on both sides")
    compare(
        "delete on both sides",
        cal,
        {uid["s1"]: "server one, edited locally", uid["l1"]: "local one, edited on the server"},
    )

    # 5. A sync with no changes changes nothing.
    rc, out = vdirsyncer("sync")
    check("idempotent sync exits 0", rc == 0, f"exit {rc}")
    check("idempotent sync copies nothing", not any(w in out for w in ("Copying", "Updating", "Deleting")), out)
    compare(
        "idempotent sync",
        cal,
        {uid["s1"]: "server one, edited locally", uid["l1"]: "local one, edited on the server"},
    )

    # 6. A calendar made on the server: re-discover, sync both ways.
    work_cal = f"/calendars/{USER}/work-{RUN}/"
    s, _, b = http(
        "MKCALENDAR",
        work_cal,
        b'<?xml version="1.0"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
        b"<D:set><D:prop><D:displayname>Work</D:displayname></D:prop></D:set></C:mkcalendar>",
        {"Content-Type": "application/xml"},
    )
    check("MKCALENDAR of a second calendar", s == 201, f"{s} {b[:200]!r}")
    server_put(work_cal, uid["w1"], "work one", 5)
    rc, out = vdirsyncer("discover")
    work_dir = os.path.join(LOCAL, f"work-{RUN}")
    check("re-discover finds the new calendar", rc == 0 and os.path.isdir(work_dir), f"exit {rc}, {os.listdir(LOCAL)!r}")
    sync("new calendar")
    compare("new calendar", work_cal, {uid["w1"]: "work one"})
    with open(os.path.join(work_dir, "w2.ics"), "w", encoding="utf-8", newline="") as f:
        f.write(ics(f"vds-w2-{RUN}@kalends.test", "work two", 6))
    sync("local create in the new calendar")
    compare(
        "local create in the new calendar",
        work_cal,
        {uid["w1"]: "work one", f"vds-w2-{RUN}@kalends.test": "work two"},
    )
    # metasync: the server's displayname comes down; a color set locally
    # goes up (PROPPATCH of Apple's calendar-color).
    with open(os.path.join(work_dir, "color"), "w") as f:
        f.write("#336699")
    rc, out = vdirsyncer("metasync")
    check("metasync exits 0", rc == 0, f"exit {rc}")
    try:
        with open(os.path.join(work_dir, "displayname")) as f:
            local_name = f.read().strip()
    except OSError as e:
        local_name = repr(e)
    check("metasync: the server's displayname comes down", local_name == "Work", repr(local_name))
    s, _, b = http(
        "PROPFIND",
        work_cal,
        b'<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:a="http://apple.com/ns/ical/">'
        b"<d:prop><a:calendar-color/><d:displayname/></d:prop></d:propfind>",
        {"Depth": "0", "Content-Type": "application/xml"},
    )
    color = ET.fromstring(b).findtext(".//{http://apple.com/ns/ical/}calendar-color") if s == 207 else None
    check("metasync: the local color goes up", (color or "").upper().startswith("#336699"), f"{s} {b[:400]!r}")

    # The default calendar is untouched by all this.
    compare(
        "default calendar untouched",
        cal,
        {uid["s1"]: "server one, edited locally", uid["l1"]: "local one, edited on the server"},
    )


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001
        import traceback

        check("unexpected error", False, f"{type(e).__name__}: {e}")
        traceback.print_exc(file=sys.stdout)
    checks.finish()
