package dav_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/kalends/kalends/testkit"
)

const mkcalendar = `<?xml version="1.0"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><D:displayname>%s</D:displayname></D:prop></D:set></C:mkcalendar>`

// TestTrash: deleted objects and calendars are listed for their owner only,
// and undelete puts them back as they were just before.
func TestTrash(t *testing.T) {
	s := testkit.NewServer(t, testkit.Options{})
	s.AddUser("alice", "pw")
	s.AddUser("bob", "pw")
	c := tt{t, s, "alice", "pw"}
	const cal = "/calendars/alice/default/"
	c.put(cal+"x.ics", "x", "ex")
	c.want(http.StatusNoContent, "DELETE", cal+"x.ics", "", "User-Agent", "butterfingers/1.0")
	c.want(http.StatusCreated, "MKCALENDAR", "/calendars/alice/work/", strings.ReplaceAll(mkcalendar, "%s", "Work"))
	c.put("/calendars/alice/work/y.ics", "y", "why")
	c.want(http.StatusNoContent, "DELETE", "/calendars/alice/work/", "")

	list := c.want(http.StatusMultiStatus, "PROPFIND", "/trash/alice/", "", "Depth", "1")
	for _, want := range []string{
		"<D:href>/trash/alice/default/x.ics</D:href>", "butterfingers/1.0", ">alice</X:deleted-by>",
		"<D:href>/trash/alice/work/</D:href>", "<D:displayname>Work</D:displayname>", ">1</X:object-count>",
		"/calendars/alice/default/x.ics</X:original-href>", "<D:getlastmodified>",
	} {
		if !strings.Contains(list, want) {
			t.Errorf("the trash lacks %q: %s", want, list)
		}
	}
	if strings.Contains(list, "y.ics") {
		t.Errorf("a deleted calendar's objects are listed apart from it: %s", list)
	}
	if body := c.want(http.StatusOK, "GET", "/trash/alice/default/x.ics", ""); !strings.Contains(body, "SUMMARY:ex") {
		t.Errorf("GET of the deleted object: %s", body)
	}

	// Only the owner sees or empties it.
	bob := tt{t, s, "bob", "pw"}
	bob.want(http.StatusForbidden, "PROPFIND", "/trash/alice/", "", "Depth", "1")
	bob.want(http.StatusForbidden, "POST", "/trash/alice/default/x.ics?undelete", "")

	// An object of a deleted calendar waits for the calendar.
	c.want(http.StatusNotFound, "POST", "/trash/alice/work/y.ics?undelete", "")
	c.plan(http.StatusOK, "/trash/alice/work/?undelete")
	if c.summaryOf("/calendars/alice/work/y.ics") != "why" {
		t.Error("the undeleted calendar lacks its object")
	}
	if p := c.plan(http.StatusOK, "/trash/alice/default/x.ics?undelete"); p.Object != "x.ics" || strings.Join(p.Added, ",") != "x.ics" {
		t.Errorf("undelete plan %+v", p)
	}
	if c.summaryOf(cal+"x.ics") != "ex" {
		t.Error("x.ics is not back")
	}
	// Back means out of the trash.
	c.want(http.StatusNotFound, "POST", "/trash/alice/default/x.ics?undelete", "")
	if list := c.want(http.StatusMultiStatus, "PROPFIND", "/trash/alice/", "", "Depth", "1"); strings.Contains(list, "x.ics") || strings.Contains(list, "/trash/alice/work/") {
		t.Errorf("undeleted entries are still listed: %s", list)
	}
	c.want(http.StatusMethodNotAllowed, "DELETE", "/trash/alice/default/x.ics", "")
}

// TestTrashAcrossIncarnations: the objects of a deleted calendar are in the
// trash of a new calendar of the same name, and come back into it unless
// their UID is taken.
func TestTrashAcrossIncarnations(t *testing.T) {
	s := testkit.NewServer(t, testkit.Options{})
	s.AddUser("alice", "pw")
	c := tt{t, s, "alice", "pw"}
	const cal = "/calendars/alice/team/"
	c.want(http.StatusCreated, "MKCALENDAR", cal, "")
	c.put(cal+"old.ics", "old", "from before")
	c.put(cal+"dup.ics", "dup", "first dup")
	c.want(http.StatusNoContent, "DELETE", cal, "")
	c.want(http.StatusCreated, "MKCALENDAR", cal, "")
	c.put(cal+"dup-again.ics", "dup", "second dup")

	list := c.want(http.StatusMultiStatus, "PROPFIND", "/trash/alice/team/", "", "Depth", "1")
	if !strings.Contains(list, "/trash/alice/team/old.ics") || !strings.Contains(list, "deleted-with-calendar") {
		t.Errorf("the earlier calendar's objects are not in the trash: %s", list)
	}
	c.plan(http.StatusOK, "/trash/alice/team/old.ics?undelete")
	if c.summaryOf(cal+"old.ics") != "from before" {
		t.Error("old.ics did not come back into the new calendar")
	}
	body := c.want(http.StatusForbidden, "POST", "/trash/alice/team/dup.ics?undelete", "")
	if !strings.Contains(body, "no-uid-conflict") || !strings.Contains(body, cal+"dup-again.ics") {
		t.Errorf("UID conflict: %s", body)
	}
	// The live calendar is not in the trash.
	c.want(http.StatusNotFound, "POST", "/trash/alice/team/?undelete", "")
}
