package dav

import "net/http"

type server struct {
	cfg Config
}

func newServer(cfg Config) *server { return &server{cfg: cfg} }

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	http.Error(w, "TODO", http.StatusNotImplemented)
}
