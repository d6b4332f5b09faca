package auth

import "net/http"

// Authenticator decides who made a request.
type Authenticator interface {
	// Authenticate returns the principal name. ok=false (with a nil error)
	// means the request carried no valid credentials: the caller answers 401
	// with Challenge().
	Authenticate(r *http.Request) (principal string, ok bool, err error)
	// Challenge is the WWW-Authenticate header value for a 401.
	Challenge() string
}
