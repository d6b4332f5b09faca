package dav

import "net/http"

// STUB, replaced by the restore work (issue 4).
func (s *server) restore(w http.ResponseWriter, r *http.Request, t target) error {
	return errStatus(http.StatusMethodNotAllowed, "POST is not supported here")
}
