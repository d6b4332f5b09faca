package domain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Event is a domain fact. Each concrete type is one event type in the log.
type Event interface {
	EventType() string
}

// Event type names as stored in the log. Never rename one: old logs must
// decode forever. A changed shape gets a new schema version and an upcaster
// in Decode.
const (
	TypePrincipalCreated          = "PrincipalCreated"
	TypePrincipalDisabled         = "PrincipalDisabled"
	TypeCalendarCreated           = "CalendarCreated"
	TypeCalendarPropertiesChanged = "CalendarPropertiesChanged"
	TypeCalendarDeleted           = "CalendarDeleted"
	TypeObjectPut                 = "ObjectPut"
	TypeObjectDeleted             = "ObjectDeleted"
	TypeCalendarRestored          = "CalendarRestored"
	TypeIndexHorizonAdvanced      = "IndexHorizonAdvanced"
)

// CurrentSchema is the schema version Encode writes for every event type.
const CurrentSchema uint16 = 1

// PrincipalStream is the stream of a principal's lifecycle events.
func PrincipalStream(name string) string { return "principal:" + name }

// CalendarStream is the stream of everything that ever happened at one
// calendar URL: its creation, properties, objects, deletion, and any later
// re-creation under the same name. Keeping a deleted-and-recreated calendar in
// one stream means a name's whole history is one read, and a sync token from
// an earlier incarnation is recognisably stale (see projections).
func CalendarStream(owner, name string) string { return "cal:" + owner + "/" + name }

// IndexHorizonStream is the stream of IndexHorizonAdvanced: no calendar's
// and no principal's, a fact about the server's read models. Its prefix
// cannot be mistaken for the other streams' ("cal:", "principal:").
const IndexHorizonStream = "system:index-horizon"

// PrincipalCreated introduces a principal (a user). Credentials are never in
// the log: they live in the credential store so that a changed password leaves
// no old hash in an immutable history.
type PrincipalCreated struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName,omitempty"`
	Email       string `json:"email,omitempty"`
}

// PrincipalDisabled stops a principal from authenticating; its data stays.
type PrincipalDisabled struct {
	Name string `json:"name"`
}

// Property is a WebDAV property value: the element's namespace and local
// name, and its content as self-contained XML (every namespace it uses is
// declared inside it), so that it can be written back byte-for-byte into any
// response. For text-valued properties such as displayname, XML is the
// escaped text.
type Property struct {
	Space string `json:"ns"`
	Local string `json:"name"`
	XML   string `json:"xml"`
	// Attrs are the attributes of the property's own element, which a dead
	// property keeps with its value (RFC 4918 §4.3), including the xml:lang
	// in scope where the request set it: self-contained attribute text,
	// each attribute with a space before it and each namespaced one with
	// its own prefix declaration beside it, e.g.
	// ` xmlns:a1="urn:x" a1:kind="rgb" xml:lang="en"`. Events written before
	// the field existed have none, which is what they had.
	Attrs string `json:"attrs,omitempty"`
}

// PropertyName names a property without a value (for removal).
type PropertyName struct {
	Space string `json:"ns"`
	Local string `json:"name"`
}

// Name returns the property's name.
func (p Property) Name() PropertyName { return PropertyName{p.Space, p.Local} }

// CalendarCreated creates (or re-creates) a calendar collection.
type CalendarCreated struct {
	Owner string `json:"owner"`
	Name  string `json:"name"`
	// Components is the supported-calendar-component-set, fixed at creation
	// (RFC 4791 §5.2.3). Empty means DefaultComponents.
	Components []string `json:"components,omitempty"`
	// Props are the initial properties (displayname, calendar-color, dead
	// properties, ...) set by MKCALENDAR or extended MKCOL.
	Props []Property `json:"props,omitempty"`
}

// CalendarPropertiesChanged is one atomic PROPPATCH.
type CalendarPropertiesChanged struct {
	Set    []Property     `json:"set,omitempty"`
	Remove []PropertyName `json:"remove,omitempty"`
}

// CalendarDeleted deletes a calendar and, implicitly, every object in it.
type CalendarDeleted struct{}

// ObjectPut creates or replaces one calendar object resource.
type ObjectPut struct {
	// Name is the resource's last path segment, e.g. "4f1c.ics".
	Name      string `json:"name"`
	UID       string `json:"uid"`
	Component string `json:"component"`
	ETag      string `json:"etag"`
	// Data is the validated iCalendar text exactly as the client sent it.
	// It is stored after the JSON header, not inside it (see Encode).
	Data string `json:"-"`
	// CopiedFrom is "owner/calendar/name" when a MOVE or COPY wrote it.
	CopiedFrom string `json:"copiedFrom,omitempty"`
	// Moved says a MOVE wrote it: the object left CopiedFrom, which an
	// ObjectDeleted with MovedTo records in the source's stream. It is
	// false for a COPY, and for every MOVE written before the field
	// existed, which history and audit therefore show as copies.
	Moved bool `json:"moved,omitempty"`
}

// ObjectDeleted removes one calendar object resource.
type ObjectDeleted struct {
	Name string `json:"name"`
	// MovedTo is "owner/calendar/name" when a MOVE removed it.
	MovedTo string `json:"movedTo,omitempty"`
}

// CalendarRestored marks the start of a restore's events (restore.go): what
// follows it in the same append puts the calendar, or one object, back as it
// was at AsOf. It changes nothing by itself; it is there so that audit and
// history show a restore as one, not as a burst of ordinary edits. It comes
// first in the append, or right after the CalendarCreated when the restore
// re-creates a deleted calendar (a deleted calendar takes no other event).
type CalendarRestored struct {
	AsOf time.Time `json:"asOf"`
	// Object is the restored object's name; "" when the whole calendar was.
	Object string `json:"object,omitempty"`
	// Undelete says the restore took something out of the trash: AsOf is
	// then the time of the deletion it undid, and the state restored is
	// the one just before that deletion.
	Undelete bool `json:"undelete,omitempty"`
}

// IndexHorizonAdvanced moves the horizon of the time-range index: from here
// on, the index holds the instances of open-ended recurrences up to Through
// (see DecideIndexHorizon and the projections' time-range index). It is the
// only way the wall clock reaches the projections, so that replaying the
// log indexes exactly what the live server did. It changes no calendar.
type IndexHorizonAdvanced struct {
	Through time.Time `json:"through"`
}

func (PrincipalCreated) EventType() string          { return TypePrincipalCreated }
func (PrincipalDisabled) EventType() string         { return TypePrincipalDisabled }
func (CalendarCreated) EventType() string           { return TypeCalendarCreated }
func (CalendarPropertiesChanged) EventType() string { return TypeCalendarPropertiesChanged }
func (CalendarDeleted) EventType() string           { return TypeCalendarDeleted }
func (ObjectPut) EventType() string                 { return TypeObjectPut }
func (ObjectDeleted) EventType() string             { return TypeObjectDeleted }
func (CalendarRestored) EventType() string          { return TypeCalendarRestored }
func (IndexHorizonAdvanced) EventType() string      { return TypeIndexHorizonAdvanced }

// Encode turns an event into its stored form at CurrentSchema: JSON, except
// that an ObjectPut's iCalendar text follows its JSON header after a
// newline, verbatim. Escaping a kilobyte of CRLF-laden text into a JSON
// string and back cost 13 µs an event, the bulk of a rebuild; compact JSON
// never contains a raw newline, so the split is unambiguous.
func Encode(e Event) (typ string, schema uint16, data []byte, err error) {
	data, err = json.Marshal(e)
	if put, ok := e.(*ObjectPut); ok && err == nil {
		data = append(append(data, '\n'), put.Data...)
	}
	return e.EventType(), CurrentSchema, data, err
}

// Decode turns a stored event of any schema version back into an Event of the
// current shape. Unknown types are an error: a log written by a newer Kalends
// must not be silently misread by an older one.
func Decode(typ string, schema uint16, data []byte) (Event, error) {
	if schema == 0 || schema > CurrentSchema {
		return nil, fmt.Errorf("domain: %s: unsupported schema version %d", typ, schema)
	}
	var e Event
	switch typ {
	case TypePrincipalCreated:
		e = &PrincipalCreated{}
	case TypePrincipalDisabled:
		e = &PrincipalDisabled{}
	case TypeCalendarCreated:
		e = &CalendarCreated{}
	case TypeCalendarPropertiesChanged:
		e = &CalendarPropertiesChanged{}
	case TypeCalendarDeleted:
		e = &CalendarDeleted{}
	case TypeObjectPut:
		e = &ObjectPut{}
	case TypeObjectDeleted:
		e = &ObjectDeleted{}
	case TypeCalendarRestored:
		e = &CalendarRestored{}
	case TypeIndexHorizonAdvanced:
		e = &IndexHorizonAdvanced{}
	default:
		return nil, fmt.Errorf("domain: unknown event type %q", typ)
	}
	header := data
	if put, ok := e.(*ObjectPut); ok {
		var text []byte
		var found bool
		if header, text, found = bytes.Cut(data, []byte{'\n'}); !found {
			return nil, fmt.Errorf("domain: decode %s v%d: no data after the header", typ, schema)
		}
		put.Data = string(text)
	}
	if err := json.Unmarshal(header, e); err != nil {
		return nil, fmt.Errorf("domain: decode %s v%d: %w", typ, schema, err)
	}
	return e, nil
}
