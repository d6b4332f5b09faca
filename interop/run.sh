#!/usr/bin/env bash
# make interop: real CalDAV clients against a freshly built kalends binary.
#
#   bash interop/run.sh            (from any directory; `make interop` runs it)
#
# 1. vdirsyncer      two-way sync filesystem <-> server (vdirsyncer_check.py)
# 2. python3-caldav  discovery, MKCALENDAR, CRUD, sync-collection (caldav_check.py)
# 3. tsdav           the npm library web/Electron clients use (tsdav_check.mjs)
# 4. cadaver         a scripted command-line WebDAV session (ls/put/get/move/delete)
# 5. recurdiff       recurrence expansion (calendar-query with expand) against an
#                    independent engine, python3-recurring-ical-events, over a
#                    generated corpus (recurdiff_check.py; RECURDIFF_SEED=N
#                    picks another corpus)
# 6. litmus          the generic WebDAV suite; informational only (see below)
#
# Each client prints PASS/FAIL lines and "N passed, M failed"; the script ends
# with the total of 1-5 and exits non-zero if any of them failed.
#
# It installs what it needs when missing (Debian, as root): vdirsyncer,
# python3-caldav, python3-recurring-ical-events, cadaver and litmus with
# apt-get, and tsdav with npm from interop/package-lock.json. Re-running
# skips what is already installed.
#
# The server runs with --log-bodies --log-level debug, so every request and
# response body a client exchanged is in the server log. The work directory
# (server log, data, vdirsyncer state) is removed on success and kept, with
# its path printed, on failure. KEEP_WORK=1 keeps it always.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
START=$SECONDS
export DEBIAN_FRONTEND=noninteractive
# Debian's python3 has python3-caldav; a pyenv python3 earlier on PATH does not.
PY=/usr/bin/python3

say() { printf '\n== %s\n' "$*"; }

# --- installs -------------------------------------------------------------

# apt_install PKG...: installs, in one apt-get run, those of PKG that
# Debian's archive here has; says which it has not.
apt_install() {
	if ! command -v apt-get >/dev/null; then
		echo "interop: no apt-get here to install $*" >&2
		return 0
	fi
	if [ "$(id -u)" != 0 ]; then
		echo "interop: installing $* needs root" >&2
		return 0
	fi
	apt-get update -qq >/dev/null
	local pkg candidate found=()
	for pkg in "$@"; do
		candidate="$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ {print $2}')"
		if [ -z "$candidate" ] || [ "$candidate" = "(none)" ]; then
			echo "interop: Debian's archive here has no package $pkg" >&2
		else
			echo "interop: installing $pkg $candidate"
			found+=("$pkg")
		fi
	done
	[ ${#found[@]} = 0 ] || apt-get install -y -qq --no-install-recommends "${found[@]}" >/dev/null
}

say "installing what is missing"
missing=()
[ -x /usr/bin/vdirsyncer ] || missing+=(vdirsyncer)
$PY -c 'import caldav' 2>/dev/null || missing+=(python3-caldav)
$PY -c 'import recurring_ical_events' 2>/dev/null || missing+=(python3-recurring-ical-events)
command -v cadaver >/dev/null || missing+=(cadaver)
command -v litmus >/dev/null || missing+=(litmus)
[ ${#missing[@]} = 0 ] || apt_install "${missing[@]}"
# vdirsyncer, python3-caldav and python3-recurring-ical-events are required;
# cadaver and litmus are skipped (loudly) where Debian's archive lacks them.
if [ ! -x /usr/bin/vdirsyncer ] || ! $PY -c 'import caldav, recurring_ical_events' 2>/dev/null; then
	echo "interop: FAIL: vdirsyncer, python3-caldav and python3-recurring-ical-events are required and could not be installed"
	exit 1
fi
have_cadaver=1
command -v cadaver >/dev/null || {
	have_cadaver=0
	echo "interop: SKIPPING cadaver: not installable here"
}
have_litmus=1
command -v litmus >/dev/null || {
	have_litmus=0
	echo "interop: SKIPPING litmus: not installable here"
}
want_tsdav="$(node -p "require('$HERE/package.json').dependencies.tsdav")"
have_tsdav="$(node -p "try { require('$HERE/node_modules/tsdav/package.json').version } catch { '' }")"
if [ "$have_tsdav" != "$want_tsdav" ]; then
	echo "interop: installing tsdav $want_tsdav (npm ci from package-lock.json)"
	(cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error)
fi
echo "vdirsyncer $(/usr/bin/vdirsyncer --version | awk '{print $NF}'), python3-caldav $(dpkg-query -W -f='${Version}' python3-caldav 2>/dev/null || echo '?'), python3-recurring-ical-events $(dpkg-query -W -f='${Version}' python3-recurring-ical-events 2>/dev/null || echo '?'), tsdav $want_tsdav, node $(node --version)"

# --- the server -------------------------------------------------------------

WORK="$(mktemp -d "${TMPDIR:-/tmp}/kalends-interop.XXXXXX")"
BIN="$WORK/kalends"
LOG="$WORK/server.log"
SERVER_PID=
status=1

stop_server() {
	if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
		kill -TERM "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	SERVER_PID=
}
cleanup() {
	local rc=$?
	[ $status = 0 ] || [ $rc = 0 ] || status=$rc
	stop_server
	if [ $status != 0 ]; then
		if [ -s "$LOG" ]; then
			echo
			echo "== last lines of the server log ($LOG, lines cut at 400 characters):"
			tail -n 30 "$LOG" | cut -c1-400
		fi
		echo "interop: work directory kept: $WORK"
	elif [ "${KEEP_WORK:-0}" = 1 ]; then
		echo "interop: work directory kept: $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "building kalends"
(cd "$ROOT" && go build -o "$BIN" ./cmd/kalends)

free_port() {
	$PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Another process may take the port between free_port and the bind: try again.
for attempt in 1 2 3; do
	PORT="$(free_port)"
	URL="http://127.0.0.1:$PORT/"
	"$BIN" serve --data "$WORK/data" --listen "127.0.0.1:$PORT" \
		--log-bodies --log-level debug --log-format json >>"$LOG" 2>&1 &
	SERVER_PID=$!
	up=0
	for _ in $(seq 1 100); do
		if ! kill -0 "$SERVER_PID" 2>/dev/null; then
			break
		fi
		code="$(curl -s -o /dev/null -w '%{http_code}' "${URL}.well-known/caldav" || true)"
		if [ "$code" = 301 ]; then
			up=1
			break
		fi
		sleep 0.1
	done
	[ $up = 1 ] && break
	stop_server
	echo "interop: the server did not come up on port $PORT (attempt $attempt)"
done
if [ $up != 1 ]; then
	echo "interop: FAIL: could not start kalends"
	exit 1
fi
echo "kalends serving $URL (pid $SERVER_PID), data and log in $WORK"

# One user per client, so that no client sees another's calendars. They are
# added while the server runs, through its admin socket.
declare -A PASSWORD
for user in vdirsyncer pycaldav tsdav cadaver recurdiff litmus; do
	PASSWORD[$user]="interop-$user-$RANDOM$RANDOM"
	printf '%s\n' "${PASSWORD[$user]}" | "$BIN" user add "$user" --data "$WORK/data" --password-stdin >/dev/null
done

# --- the clients ----------------------------------------------------------

total_pass=0
total_fail=0
declare -a summary

# record NAME OUTPUT_FILE RC: adds a client's closing "N passed, M failed".
record() {
	local name=$1 out=$2 rc=$3 line p f
	line="$(grep -E '^[a-z0-9-]+: [0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1 || true)"
	if [ -z "$line" ]; then
		p=0
		f=1
		echo "FAIL $name: exited $rc without a count"
	else
		p="$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line")"
		f="$(sed -E 's/.* ([0-9]+) failed$/\1/' <<<"$line")"
		if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
			f=1
			echo "FAIL $name: exited $rc"
		fi
	fi
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	summary+=("$(printf '%-11s %3d passed, %d failed' "$name" "$p" "$f")")
}

# client NAME CMD...: runs one client (bounded in time), tees its output.
client() {
	local name=$1 rc=0 t0=$SECONDS
	shift
	say "$name"
	if declare -F "$1" >/dev/null; then
		# A shell function (it bounds its own commands' time).
		("$@") >"$WORK/$name.out" 2>&1 || rc=$?
	else
		timeout 180 "$@" >"$WORK/$name.out" 2>&1 || rc=$?
	fi
	cat "$WORK/$name.out"
	[ $rc = 124 ] && echo "FAIL $name: timed out after 180 s"
	echo "($name took $((SECONDS - t0)) s)"
	record "$name" "$WORK/$name.out" "$rc"
}

client vdirsyncer env VDIRSYNCER=/usr/bin/vdirsyncer \
	$PY "$HERE/vdirsyncer_check.py" "$URL" vdirsyncer "${PASSWORD[vdirsyncer]}" "$WORK/vdirsyncer"
client caldav $PY "$HERE/caldav_check.py" "$URL" pycaldav "${PASSWORD[pycaldav]}"
client tsdav node "$HERE/tsdav_check.mjs" "$URL" tsdav "${PASSWORD[tsdav]}"

# cadaver: a scripted session (commands on stdin), credentials from ~/.netrc
# in a HOME of its own.
cadaver_check() {
	local dir="$WORK/cadaver" cal="/calendars/cadaver/default/" out
	mkdir -p "$dir"
	printf 'machine 127.0.0.1\nlogin cadaver\npassword %s\n' "${PASSWORD[cadaver]}" >"$dir/.netrc"
	chmod 600 "$dir/.netrc"
	printf 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Kalends//interop cadaver//EN\r\nBEGIN:VEVENT\r\nUID:cadaver-one@kalends.test\r\nDTSTAMP:20300101T000000Z\r\nDTSTART:20300701T090000Z\r\nDTEND:20300701T100000Z\r\nSUMMARY:cadaver one\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n' >"$dir/one.ics"
	printf 'not a calendar\n' >"$dir/note.txt"
	cat >"$dir/script" <<-EOF
		ls
		put one.ics one.ics
		ls
		get one.ics back.ics
		copy one.ics copy.ics
		move one.ics moved.ics
		ls
		get moved.ics moved-back.ics
		put note.txt note.txt
		mkcol plain
		delete moved.ics
		ls
		quit
	EOF
	out="$(cd "$dir" && HOME="$dir" timeout 60 cadaver "${URL%/}$cal" <"$dir/script" 2>&1)" || true
	printf '%s\n' "$out" | sed 's/^/    | /'
	local p=0 f=0
	ok() { # ok NAME CONDITION...
		local name=$1
		shift
		if "$@"; then
			p=$((p + 1))
			echo "PASS cadaver: $name"
		else
			f=$((f + 1))
			echo "FAIL cadaver: $name"
		fi
	}
	has() { grep -qF -- "$1" <<<"$out"; }
	# The listings, in order: empty, after put, after move, after delete.
	mapfile -t listings < <(awk '/^dav:.*> ls$/ {n++} n {print n": "$0}' <<<"$out")
	listing() { printf '%s\n' "${listings[@]}" | sed -n "s/^$1: //p"; }
	ok "ls of the empty calendar" grep -q "collection is empty" <<<"$(listing 1)"
	ok "put of an .ics succeeds" has "Uploading one.ics to \`${cal}one.ics': [.. succeeded."
	ok "ls shows the new object" grep -qE '^ +one\.ics +[0-9]+ ' <<<"$(listing 2)"
	ok "get returns what was put" cmp -s "$dir/one.ics" "$dir/back.ics"
	# cadaver prints only the status line; the server's access log has the
	# precondition that refused each request.
	refused() { # refused METHOD PATH CONDITION: the log has that 403
		grep '"message":"request"' "$LOG" | grep -F "\"method\":\"$1\",\"path\":\"$2\",\"status\":403," | grep -qF "\"condition\":\"$3\""
	}
	ok "copy within the calendar is refused" grep -qE "^Copying .*copy\.ics'.* failed:" <<<"$out"
	ok "... with 403 no-uid-conflict (same UID twice)" refused COPY "${cal}one.ics" no-uid-conflict
	ok "move within the calendar succeeds" grep -qE "^Moving .*moved\.ics'.* succeeded\.$" <<<"$out"
	ok "ls after move shows only moved.ics" eval '[ "$(listing 3 | grep -cE "^ +[a-z-]+\.ics ")" = 1 ] && listing 3 | grep -qE "^ +moved\.ics "'
	ok "get of the moved object" cmp -s "$dir/one.ics" "$dir/moved-back.ics"
	ok "put of a non-iCalendar file is refused" grep -qE "^Uploading note\.txt .* failed:" <<<"$out"
	ok "... with 403 valid-calendar-data" refused PUT "${cal}note.txt" valid-calendar-data
	ok "mkcol of a plain collection is refused" has "Creating \`plain': failed:"
	ok "... with 403 calendar-collection-location-ok" refused MKCOL "${cal}plain/" calendar-collection-location-ok
	ok "delete succeeds" has "Deleting \`moved.ics': succeeded."
	ok "ls after delete is empty" grep -q "collection is empty" <<<"$(listing 4)"
	echo "cadaver: $p passed, $f failed"
	[ $f = 0 ]
}
if [ $have_cadaver = 1 ]; then
	client cadaver cadaver_check
else
	say "cadaver: SKIPPED (not installable here)"
fi

client recurdiff $PY "$HERE/recurdiff_check.py" "$URL" recurdiff "${PASSWORD[recurdiff]}"

# litmus tests generic WebDAV: MKCOL of plain collections, PUT of arbitrary
# files, locks. Kalends serves only calendar collections and refuses those
# (403, as RFC 4791 allows), so most suites stop at their first step. Its
# result is informational: it is printed, never counted, never fails the run.
if [ $have_litmus = 1 ]; then
	say "litmus (informational, not counted)"
	mkdir -p "$WORK/litmus"
	(cd "$WORK/litmus" && timeout 120 litmus -k "${URL}calendars/litmus/default/" litmus "${PASSWORD[litmus]}" >litmus.out 2>&1) || true
	grep -E "^<- summary|^-> running" "$WORK/litmus/litmus.out" | sed 's/^/    /' || true
	litmus_summary="$(grep -E '^<- summary' "$WORK/litmus/litmus.out" |
		sed -E "s/^<- summary for \`([a-z]+)': of ([0-9]+) tests run: ([0-9]+) passed, ([0-9]+) failed.*/\1 \3\/\2/" | paste -sd ' ' -)"
	echo "litmus suites (passed/run): ${litmus_summary:-none ran} (informational)"
else
	say "litmus: SKIPPED (not installable here)"
fi

# --- the end ----------------------------------------------------------------

stop_server
say "summary ($((SECONDS - START)) s)"
printf '%s\n' "${summary[@]}"
[ $have_cadaver = 1 ] || echo "cadaver     skipped"
[ $have_litmus = 1 ] && echo "litmus      ${litmus_summary:-none ran} (informational, not counted)"
echo "interop: $total_pass passed, $total_fail failed"
if [ $total_fail = 0 ] && [ $total_pass -gt 0 ]; then
	status=0
else
	status=1
fi
exit $status
