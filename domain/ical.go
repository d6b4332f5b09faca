package domain

// NSCalDAV is the CalDAV XML namespace (RFC 4791).
const NSCalDAV = "urn:ietf:params:xml:ns:caldav"

// CalendarObject is what validation learns of a calendar object resource.
type CalendarObject struct {
	UID       string
	Component string // VEVENT, VTODO or VJOURNAL
}

// ValidateCalendarObject checks data against RFC 4791 §4.1 and §5.3.2.1 and
// returns its UID and component type. allowed is the calendar's
// supported-calendar-component-set.
// STUB: replaced by the domain validation work.
func ValidateCalendarObject(data []byte, allowed []string) (*CalendarObject, error) {
	return nil, refuse(ValidCalendarData, "not implemented")
}

// validateCalendarProperty checks the values of properties with calendar
// semantics (calendar-timezone must be one VCALENDAR with one VTIMEZONE).
// STUB.
func validateCalendarProperty(p Property) error { return nil }
