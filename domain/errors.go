package domain

import "fmt"

// Condition names an RFC precondition or postcondition that a request broke.
// The DAV layer maps each to its HTTP status and XML element (dav/errors.go).
type Condition string

// The conditions the decisions can raise. Namespaces: "DAV:" conditions are
// from RFC 4918/3744/6578, the rest are CalDAV's (RFC 4791).
const (
	ValidCalendarData           Condition = "valid-calendar-data"
	ValidCalendarObjectResource Condition = "valid-calendar-object-resource"
	SupportedCalendarComponent  Condition = "supported-calendar-component"
	SupportedCalendarData       Condition = "supported-calendar-data"
	NoUIDConflict               Condition = "no-uid-conflict"
	MaxResourceSize             Condition = "max-resource-size"
	CalendarCollectionLocation  Condition = "calendar-collection-location-ok"
	ResourceMustBeNull          Condition = "resource-must-be-null"
	ValidCalendarName           Condition = "valid-calendar-name" // Kalends: the name is not a usable path segment
	CannotModifyProtected       Condition = "cannot-modify-protected-property"
	ValidTimezone               Condition = "valid-calendar-timezone"
	NotFound                    Condition = "not-found"           // the target does not exist (404)
	PreconditionFailed          Condition = "precondition-failed" // If-Match / If-None-Match (412)
)

// PreconditionError is a refused command. Nothing of it reaches the log.
type PreconditionError struct {
	Condition Condition
	// Href is set for NoUIDConflict: the name of the object that already has
	// the UID, in the same calendar.
	Href string
	// Reason is a human-readable detail for logs and the error body.
	Reason string
}

func (e *PreconditionError) Error() string {
	if e.Reason == "" {
		return string(e.Condition)
	}
	return fmt.Sprintf("%s: %s", e.Condition, e.Reason)
}

func refuse(c Condition, format string, args ...any) *PreconditionError {
	return &PreconditionError{Condition: c, Reason: fmt.Sprintf(format, args...)}
}
