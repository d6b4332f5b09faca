package main

import (
	"fmt"
	"strings"
	"time"
)

// The objects the benchmark writes look like what a desktop client sends:
// a VTIMEZONE for the event's zone, a local DTSTART/DTEND, a description,
// a location, an organizer and attendees, an alarm, and one event in four
// recurring. Each is about 1.3 KB on the wire.

const berlin = "BEGIN:VTIMEZONE\r\n" +
	"TZID:Europe/Berlin\r\n" +
	"X-LIC-LOCATION:Europe/Berlin\r\n" +
	"BEGIN:DAYLIGHT\r\n" +
	"TZOFFSETFROM:+0100\r\n" +
	"TZOFFSETTO:+0200\r\n" +
	"TZNAME:CEST\r\n" +
	"DTSTART:19700329T020000\r\n" +
	"RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n" +
	"END:DAYLIGHT\r\n" +
	"BEGIN:STANDARD\r\n" +
	"TZOFFSETFROM:+0200\r\n" +
	"TZOFFSETTO:+0100\r\n" +
	"TZNAME:CET\r\n" +
	"DTSTART:19701025T030000\r\n" +
	"RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\n" +
	"END:STANDARD\r\n" +
	"END:VTIMEZONE\r\n"

var rrules = []string{
	"RRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR\r\n",
	"RRULE:FREQ=DAILY;COUNT=30\r\n",
	"RRULE:FREQ=MONTHLY;BYMONTHDAY=15;UNTIL=20281231T230000Z\r\n",
	"RRULE:FREQ=YEARLY\r\n",
}

// uid names object i of this run; prefix keeps runs against a shared
// server (-server) apart.
func uid(prefix string, i int) string { return fmt.Sprintf("%s-%06d@bench.kalends.org", prefix, i) }

// event returns object i's iCalendar text at revision rev (0 for the
// first PUT; a modification bumps SEQUENCE and changes the summary).
func event(prefix string, i, rev int) []byte {
	base := time.Date(2025, 1, 6, 8, 0, 0, 0, time.UTC)
	start := base.Add(time.Duration(i%2000)*4*time.Hour + time.Duration(i%4)*15*time.Minute)
	end := start.Add(time.Duration(30+30*(i%3)) * time.Minute)
	const local = "20060102T150405"
	var b strings.Builder
	b.Grow(1400)
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Kalends//bench//EN\r\nCALSCALE:GREGORIAN\r\n")
	b.WriteString(berlin)
	b.WriteString("BEGIN:VEVENT\r\n")
	fmt.Fprintf(&b, "UID:%s\r\n", uid(prefix, i))
	fmt.Fprintf(&b, "DTSTAMP:%s\r\n", base.Add(time.Duration(rev)*time.Minute).Format("20060102T150405Z"))
	b.WriteString("CREATED:20241201T090000Z\r\n")
	fmt.Fprintf(&b, "LAST-MODIFIED:%s\r\n", base.Add(time.Duration(rev)*time.Minute).Format("20060102T150405Z"))
	fmt.Fprintf(&b, "SEQUENCE:%d\r\n", rev)
	fmt.Fprintf(&b, "DTSTART;TZID=Europe/Berlin:%s\r\n", start.Format(local))
	fmt.Fprintf(&b, "DTEND;TZID=Europe/Berlin:%s\r\n", end.Format(local))
	if i%4 == 0 {
		b.WriteString(rrules[(i/4)%len(rrules)])
	}
	fmt.Fprintf(&b, "SUMMARY:Project sync #%d (rev %d)\r\n", i, rev)
	b.WriteString("LOCATION:Room 4.12\\, Building C\r\n")
	b.WriteString("DESCRIPTION:Agenda: status of the milestones\\, open questions from the\r\n")
	b.WriteString("  last review\\, next steps. Dial-in details are in the shared notes.\r\n")
	b.WriteString("ORGANIZER;CN=Alice Example:mailto:alice@example.com\r\n")
	b.WriteString("ATTENDEE;CN=Bob Example;PARTSTAT=ACCEPTED;ROLE=REQ-PARTICIPANT:mailto:bob@example.com\r\n")
	b.WriteString("ATTENDEE;CN=Carol Example;PARTSTAT=NEEDS-ACTION;ROLE=OPT-PARTICIPANT;RSVP=TRUE:mailto:carol@example.com\r\n")
	b.WriteString("CATEGORIES:Work,Meetings\r\n")
	b.WriteString("STATUS:CONFIRMED\r\nTRANSP:OPAQUE\r\n")
	b.WriteString("BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Reminder\r\nTRIGGER:-PT15M\r\nEND:VALARM\r\n")
	b.WriteString("END:VEVENT\r\nEND:VCALENDAR\r\n")
	return []byte(b.String())
}
