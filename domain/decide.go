package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultComponents is the component set of a calendar created without a
// supported-calendar-component-set: what every major server and client accepts.
var DefaultComponents = []string{"VEVENT", "VTODO", "VJOURNAL"}

// ReservedCalendarNames are the home's children that are not user calendars;
// they are kept free now so that scheduling (RFC 6638) and sharing
// notifications can take them later without breaking existing homes.
var ReservedCalendarNames = []string{"inbox", "outbox", "notifications", "dropbox", "trash", "history", "asof"}

// Limits bound what a client may store.
type Limits struct {
	// MaxResourceSize is the largest calendar object, in bytes (RFC 4791
	// max-resource-size).
	MaxResourceSize int
	// MaxInstances caps the recurrence instances one query may examine per
	// object (RFC 4791 max-instances); 0 means DefaultMaxInstances.
	MaxInstances int
}

// CalendarInfo is what decisions need to know about a calendar.
type CalendarInfo struct {
	Owner      string
	Name       string
	Components []string // empty means DefaultComponents
}

// SupportedComponents is the calendar's effective component set.
func (c CalendarInfo) SupportedComponents() []string {
	if len(c.Components) == 0 {
		return DefaultComponents
	}
	return c.Components
}

// ObjectInfo is what decisions need to know about a stored object.
type ObjectInfo struct {
	Name      string
	UID       string
	Component string
	ETag      string
}

// CalendarContents answers a decision's questions about a calendar's objects.
// Implementations answer from one consistent snapshot, the one whose revision
// the caller then expects when appending.
type CalendarContents interface {
	Object(name string) (ObjectInfo, bool)
	ObjectByUID(uid string) (ObjectInfo, bool)
}

// ETagOf is the strong entity tag of an object's data. A content hash means
// that replay reproduces every ETag exactly, and an unchanged re-PUT keeps it.
func ETagOf(data []byte) string {
	sum := sha256.Sum256(data)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

// ValidResourceName reports whether name may be the last path segment of a
// calendar or object we create: non-empty UTF-8, no slash, not "." or "..",
// no control characters, at most 255 bytes.
func ValidResourceName(name string) bool {
	if name == "" || name == "." || name == ".." || len(name) > 255 || !utf8.ValidString(name) {
		return false
	}
	for _, r := range name {
		if r == '/' || r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// DecidePutObject validates data and decides the ObjectPut that stores it at
// name in cal.
func DecidePutObject(cal CalendarInfo, contents CalendarContents, name string, data []byte, lim Limits) (*ObjectPut, error) {
	if !ValidResourceName(name) {
		return nil, refuse(ValidCalendarObjectResource, "invalid resource name %q", name)
	}
	if lim.MaxResourceSize > 0 && len(data) > lim.MaxResourceSize {
		return nil, refuse(MaxResourceSize, "%d bytes exceeds the limit of %d", len(data), lim.MaxResourceSize)
	}
	obj, err := ValidateCalendarObject(data, cal.SupportedComponents())
	if err != nil {
		return nil, err
	}
	if holder, ok := contents.ObjectByUID(obj.UID); ok && holder.Name != name {
		return nil, &PreconditionError{Condition: NoUIDConflict, Href: holder.Name,
			Reason: "UID " + obj.UID + " is already stored at " + holder.Name}
	}
	if cur, ok := contents.Object(name); ok && cur.UID != obj.UID {
		// RFC 4791 §5.3.2.1: a PUT must not change the UID of a resource.
		return nil, &PreconditionError{Condition: NoUIDConflict, Href: name,
			Reason: "the resource holds UID " + cur.UID + "; its UID cannot change"}
	}
	return &ObjectPut{Name: name, UID: obj.UID, Component: obj.Component, ETag: ETagOf(data), Data: string(data)}, nil
}

// DecideDeleteObject decides the removal of one object.
func DecideDeleteObject(contents CalendarContents, name string) (*ObjectDeleted, error) {
	if _, ok := contents.Object(name); !ok {
		return nil, refuse(NotFound, "no object %q", name)
	}
	return &ObjectDeleted{Name: name}, nil
}

// Relocation is a decided COPY or MOVE: what to append to the destination
// calendar's stream and (for MOVE) to the source's. When source and
// destination are the same calendar, the caller appends Put then Delete in
// one batch.
type Relocation struct {
	Put      *ObjectPut
	Delete   *ObjectDeleted // nil for COPY
	Replaced bool           // the destination existed (204 rather than 201)
}

// DecideRelocate decides COPY (move=false) or MOVE (move=true) of the object
// src (with its data) from srcCal to dstName in dstCal.
func DecideRelocate(srcCal CalendarInfo, src ObjectInfo, data []byte,
	dstCal CalendarInfo, dst CalendarContents, dstName string, overwrite, move bool, lim Limits) (*Relocation, error) {
	if !ValidResourceName(dstName) {
		return nil, refuse(ValidCalendarObjectResource, "invalid resource name %q", dstName)
	}
	sameCal := srcCal.Owner == dstCal.Owner && srcCal.Name == dstCal.Name
	if sameCal && src.Name == dstName {
		return nil, refuse(CannotModifyProtected, "source and destination are the same resource")
	}
	_, exists := dst.Object(dstName)
	if exists && !overwrite {
		return nil, refuse(PreconditionFailed, "destination exists and Overwrite is F")
	}
	if !slices.Contains(dstCal.SupportedComponents(), src.Component) {
		return nil, refuse(SupportedCalendarComponent, "%s is not supported by the destination", src.Component)
	}
	if holder, ok := dst.ObjectByUID(src.UID); ok && holder.Name != dstName && !(sameCal && move && holder.Name == src.Name) {
		return nil, &PreconditionError{Condition: NoUIDConflict, Href: holder.Name,
			Reason: "UID " + src.UID + " is already stored at " + holder.Name}
	}
	if lim.MaxResourceSize > 0 && len(data) > lim.MaxResourceSize {
		return nil, refuse(MaxResourceSize, "%d bytes exceeds the limit of %d", len(data), lim.MaxResourceSize)
	}
	r := &Relocation{Replaced: exists, Put: &ObjectPut{
		Name: dstName, UID: src.UID, Component: src.Component, ETag: ETagOf(data), Data: string(data),
		CopiedFrom: objectRef(srcCal, src.Name), Moved: move,
	}}
	if move {
		r.Delete = &ObjectDeleted{Name: src.Name, MovedTo: objectRef(dstCal, dstName)}
	}
	return r, nil
}

func objectRef(cal CalendarInfo, name string) string { return cal.Owner + "/" + cal.Name + "/" + name }

// DecideCreateCalendar decides MKCALENDAR / extended MKCOL. exists says
// whether a live calendar already has that name.
func DecideCreateCalendar(owner, name string, exists bool, components []string, props []Property) (*CalendarCreated, error) {
	if !ValidResourceName(name) || strings.HasPrefix(name, ".") || slices.Contains(ReservedCalendarNames, strings.ToLower(name)) {
		return nil, refuse(ValidCalendarName, "%q cannot be a calendar name", name)
	}
	if exists {
		return nil, refuse(ResourceMustBeNull, "%q exists", name)
	}
	seen := map[string]bool{}
	for _, c := range components {
		c = strings.ToUpper(c)
		if !slices.Contains(CalendarComponents, c) || seen[c] {
			return nil, refuse(SupportedCalendarComponent, "component %q cannot be supported", c)
		}
		seen[c] = true
	}
	for _, p := range props {
		if err := validateCalendarProperty(p); err != nil {
			return nil, err
		}
	}
	return &CalendarCreated{Owner: owner, Name: name, Components: normalizedComponents(components), Props: props}, nil
}

func normalizedComponents(cs []string) []string {
	if len(cs) == 0 {
		return nil
	}
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = strings.ToUpper(c)
	}
	return out
}

// DecideChangeProperties decides one atomic PROPPATCH of a calendar.
// Whether a property is protected is the DAV layer's knowledge; here the
// values of properties with calendar semantics are checked.
func DecideChangeProperties(set []Property, remove []PropertyName) (*CalendarPropertiesChanged, error) {
	for _, p := range set {
		if err := validateCalendarProperty(p); err != nil {
			return nil, err
		}
	}
	return &CalendarPropertiesChanged{Set: set, Remove: remove}, nil
}

// DecideDeleteCalendar decides the deletion of a calendar and its contents.
func DecideDeleteCalendar(exists bool) (*CalendarDeleted, error) {
	if !exists {
		return nil, refuse(NotFound, "no such calendar")
	}
	return &CalendarDeleted{}, nil
}

// IndexHorizonYears is how far ahead the time-range index holds the
// instances of open-ended recurrences: past the time of the object's last
// write, and past the instant the server last advanced the horizon
// (DecideIndexHorizon). Queries beyond it still get every instance, by
// evaluating those objects on the fly.
const IndexHorizonYears = 2

// IndexHorizonStep is how far the horizon may fall behind
// now+IndexHorizonYears before it is advanced: each advance re-indexes every
// open-ended object, so it should come monthly, not with every tick.
const IndexHorizonStep = 30 * 24 * time.Hour

// DecideIndexHorizon decides whether the index horizon is due to advance at
// instant now, given the horizon in effect (zero if it was never advanced),
// and returns the event that advances it, or nil. Through is in whole
// seconds, which is what the projections keep.
func DecideIndexHorizon(now, inEffect time.Time) *IndexHorizonAdvanced {
	through := now.UTC().Truncate(time.Second).AddDate(IndexHorizonYears, 0, 0)
	if !inEffect.IsZero() && inEffect.After(through.Add(-IndexHorizonStep)) {
		return nil
	}
	return &IndexHorizonAdvanced{Through: through}
}

// DecideCreatePrincipal decides a new principal.
func DecideCreatePrincipal(name, displayName, email string, exists bool) (*PrincipalCreated, error) {
	if !ValidPrincipalName(name) {
		return nil, refuse(ValidCalendarName, "%q cannot be a principal name", name)
	}
	if exists {
		return nil, refuse(ResourceMustBeNull, "principal %q exists", name)
	}
	return &PrincipalCreated{Name: name, DisplayName: displayName, Email: email}, nil
}

// ValidPrincipalName keeps principal names safe in URLs, stream names and
// the HTTP Basic user field: letters, digits and . _ - @, at most 64 bytes.
func ValidPrincipalName(name string) bool {
	if name == "" || len(name) > 64 || name[0] == '.' || name[0] == '-' {
		return false
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' || r == '@'
		if !ok {
			return false
		}
	}
	return true
}
