// Package auth authenticates HTTP requests for the DAV layer.
//
// Authenticator is the seam: HTTP Basic against the bcrypt credential store is
// the built-in one; a reverse-proxy header or LDAP authenticator can be added
// by implementing the same interface.
//
// Credentials live in a small file of their own beside the log, never in the
// log: a changed password must leave no old hash in an immutable history.
// The server and the operator CLI are separate processes sharing that file,
// so writers take a lock file and replace it atomically, and readers reload
// it when it changes on disk.
//
// bcrypt is slow by design, too slow to run on every request of a syncing
// client, so Basic remembers a verified password for a few minutes as an
// HMAC under a per-process random key, and forgets everything whenever the
// credential file changes.
//
// This package must never grant access without a verified credential, never
// log a password or a hash, and never import projections or eventlog.
package auth
