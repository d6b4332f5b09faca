package projections

import (
	"testing"

	"github.com/kalends/kalends/domain"
)

// TestPrincipalActiveFollowsEvents: the cached answer changes as soon as a
// batch with a principal event is applied, so disabling a user takes effect
// on its next request.
func TestPrincipalActiveFollowsEvents(t *testing.T) {
	s := newStore(t)
	h := newHistory(t)
	if s.PrincipalActive("alice") {
		t.Fatal("unknown principal is active")
	}
	apply(t, s, h.rec(domain.PrincipalStream("alice"), &domain.PrincipalCreated{Name: "alice"}))
	if !s.PrincipalActive("alice") || !s.PrincipalActive("alice") {
		t.Fatal("created principal is not active")
	}
	apply(t, s, h.rec(domain.PrincipalStream("alice"), &domain.PrincipalDisabled{Name: "alice"}))
	if s.PrincipalActive("alice") {
		t.Fatal("disabled principal is still active")
	}
}
