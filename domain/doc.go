// Package domain is the calendar model and its rules, free of I/O.
//
// It holds three things:
//   - the events (events.go): versioned facts, the only thing ever written to
//     the log, with a codec that decodes every schema version forever
//     (upcasting old versions to the current shape);
//   - iCalendar validation (ical.go): what RFC 4791 §4.1 and §5.3.2.1 demand of
//     a calendar object resource before it may become an event;
//   - the decisions (decide.go): pure functions from a command and the current
//     state to the events that should be appended, or a *PreconditionError.
//
// Decisions are deterministic: they read no clock, no randomness and no map
// order, so a conflict can be re-decided against newer state and give the
// answer a serial execution would have given.
//
// This package must never do I/O, never import another Kalends package, and
// never know about HTTP: it names RFC preconditions (Condition), and the DAV
// layer maps them to statuses.
package domain
