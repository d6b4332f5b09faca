// Package auth authenticates HTTP requests for the DAV layer.
//
// Authenticator is the seam: HTTP Basic against the bcrypt credential store is
// the built-in one; a reverse-proxy header or LDAP authenticator can be added
// by implementing the same interface.
//
// Credentials live in a small file of their own beside the log, never in the
// log: a changed password must leave no old hash in an immutable history.
//
// This package must never grant access without a verified credential, never
// log a password or a hash, and never import projections or eventlog.
package auth
