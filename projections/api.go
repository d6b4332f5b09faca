package projections

import (
	"time"

	"github.com/kalends/kalends/domain"
	"github.com/kalends/kalends/eventlog"
)

// Principal is a principal's read model.
type Principal struct {
	Name        string
	DisplayName string
	Email       string
	Disabled    bool
	Created     time.Time
}

// Calendar is a calendar collection's read model. A deleted calendar keeps its
// record (Deleted=true) so that its stream revision stays known: re-creating
// it must append with the right expected revision.
type Calendar struct {
	Owner, Name string
	Stream      string
	// Revision is the stream's last revision: the expected revision of the
	// next append, and the position that sync tokens are taken from.
	Revision eventlog.Revision
	// Incarnation is the revision of the CalendarCreated event of the current
	// (or last) incarnation. A sync token older than it cannot be honoured.
	Incarnation eventlog.Revision
	Deleted     bool
	Components  []string // as created; empty means domain.DefaultComponents
	Props       []domain.Property
	Created     time.Time
	Modified    time.Time
}

// Info is what decisions need of the calendar.
func (c Calendar) Info() domain.CalendarInfo {
	return domain.CalendarInfo{Owner: c.Owner, Name: c.Name, Components: c.Components}
}

// Prop returns the value of a property, if set.
func (c Calendar) Prop(space, local string) (domain.Property, bool) {
	for _, p := range c.Props {
		if p.Space == space && p.Local == local {
			return p, true
		}
	}
	return domain.Property{}, false
}

// Object is a calendar object resource's read model.
type Object struct {
	Name      string
	UID       string
	Component string
	ETag      string
	Data      string // empty when listed without data
	Size      int
	Modified  time.Time
	// Revision is the calendar stream revision of the event that last wrote it.
	Revision eventlog.Revision
}

// Info is what decisions need of the object.
func (o Object) Info() domain.ObjectInfo {
	return domain.ObjectInfo{Name: o.Name, UID: o.UID, Component: o.Component, ETag: o.ETag}
}

// IndexHorizon is the time-range index's horizon as the log advanced it
// (domain.IndexHorizonAdvanced, see timerange.go).
type IndexHorizon struct {
	// Through is the horizon in effect: the latest Through of the stream's
	// events, in whole seconds.
	Through time.Time
	// Revision is the stream's last revision: the expected revision of the
	// next append.
	Revision eventlog.Revision
}

// Change is one member's latest change after a sync token.
type Change struct {
	Name     string
	Revision eventlog.Revision
	Deleted  bool
}
