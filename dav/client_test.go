package dav_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	ical "github.com/emersion/go-ical"
	"github.com/emersion/go-webdav/caldav"
	"github.com/kalends/kalends/testkit"
)

func event(uid, summary string, start time.Time) *ical.Calendar {
	cal := ical.NewCalendar()
	cal.Props.SetText(ical.PropVersion, "2.0")
	cal.Props.SetText(ical.PropProductID, "-//kalends//test//EN")
	ev := ical.NewEvent()
	ev.Props.SetText(ical.PropUID, uid)
	ev.Props.SetDateTime(ical.PropDateTimeStamp, start)
	ev.Props.SetDateTime(ical.PropDateTimeStart, start)
	ev.Props.SetDateTime(ical.PropDateTimeEnd, start.Add(time.Hour))
	ev.Props.SetText(ical.PropSummary, summary)
	cal.Children = append(cal.Children, ev.Component)
	return cal
}

// TestGoWebDAVClient drives discovery, writes, reads and queries through an
// independent CalDAV client, as a Go application embedding one would.
func TestGoWebDAVClient(t *testing.T) {
	s := testkit.NewServer(t, testkit.Options{})
	s.AddUser("alice", "alice-pw")
	ctx := context.Background()
	c, err := caldav.NewClient(testkit.BasicAuthClient("alice", "alice-pw"), s.URL)
	if err != nil {
		t.Fatal(err)
	}
	principal, err := c.FindCurrentUserPrincipal(ctx)
	if err != nil || principal != "/principals/users/alice/" {
		t.Fatalf("principal %q, %v", principal, err)
	}
	home, err := c.FindCalendarHomeSet(ctx, principal)
	if err != nil || home != "/calendars/alice/" {
		t.Fatalf("home %q, %v", home, err)
	}
	cals, err := c.FindCalendars(ctx, home)
	if err != nil || len(cals) != 1 || cals[0].Path != "/calendars/alice/default/" {
		t.Fatalf("calendars %+v, %v", cals, err)
	}
	if got := cals[0].SupportedComponentSet; strings.Join(got, ",") != "VEVENT,VTODO,VJOURNAL" {
		t.Errorf("supported components %v", got)
	}
	start := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	obj, err := c.PutCalendarObject(ctx, "/calendars/alice/default/standup.ics", event("standup-1", "Standup", start))
	if err != nil {
		t.Fatal(err)
	}
	if obj.ETag == "" {
		t.Error("PUT answered no ETag")
	}
	got, err := c.GetCalendarObject(ctx, "/calendars/alice/default/standup.ics")
	if err != nil {
		t.Fatal(err)
	}
	if sum, _ := got.Data.Events()[0].Props.Text(ical.PropSummary); sum != "Standup" || got.ETag != obj.ETag {
		t.Errorf("GET gave summary %q etag %q (PUT etag %q)", sum, got.ETag, obj.ETag)
	}
	if _, err := c.PutCalendarObject(ctx, "/calendars/alice/default/review.ics", event("review-1", "Review", start.Add(24*time.Hour))); err != nil {
		t.Fatal(err)
	}
	objs, err := c.MultiGetCalendar(ctx, "/calendars/alice/default/", &caldav.CalendarMultiGet{
		Paths:       []string{"/calendars/alice/default/standup.ics", "/calendars/alice/default/review.ics"},
		CompRequest: caldav.CalendarCompRequest{AllProps: true, AllComps: true},
	})
	if err != nil || len(objs) != 2 {
		t.Fatalf("multiget %d objects, %v", len(objs), err)
	}
	all, err := c.QueryCalendar(ctx, "/calendars/alice/default/", &caldav.CalendarQuery{
		CompRequest: caldav.CalendarCompRequest{Name: "VCALENDAR", AllProps: true, AllComps: true},
		CompFilter:  caldav.CompFilter{Name: "VCALENDAR", Comps: []caldav.CompFilter{{Name: "VEVENT"}}},
	})
	if err != nil || len(all) != 2 {
		t.Fatalf("query %d objects, %v", len(all), err)
	}
	if err := c.RemoveAll(ctx, "/calendars/alice/default/standup.ics"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetCalendarObject(ctx, "/calendars/alice/default/standup.ics"); err == nil {
		t.Error("GET after DELETE succeeded")
	}
}

// TestOtherPrincipalsDataIsForbidden: a principal reads and writes only its
// own home, whatever the method.
func TestOtherPrincipalsDataIsForbidden(t *testing.T) {
	s := testkit.NewServer(t, testkit.Options{})
	s.AddUser("alice", "alice")
	s.AddUser("bob", "bob")
	for _, m := range []string{"PROPFIND", "GET", "PUT", "DELETE", "REPORT", "PROPPATCH", "MKCALENDAR", "MOVE"} {
		resp, body := s.Do(testkit.Request{Method: m, Path: "/calendars/bob/default/x.ics", User: "alice", Pass: "alice"})
		if resp.StatusCode != http.StatusForbidden || strings.Contains(body, "bob@") {
			t.Errorf("%s on bob's calendar as alice: %d %s", m, resp.StatusCode, body)
		}
	}
	resp, _ := s.Do(testkit.Request{Method: "PROPFIND", Path: "/calendars/alice/", User: "alice", Pass: "wrong"})
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("wrong password: %d", resp.StatusCode)
	}
}
