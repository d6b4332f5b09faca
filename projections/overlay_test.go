package projections

import (
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"testing"
)

// The overlay answers like a map from key to (value | deleted), through
// chunk growth, forgetting, whole calendars dropped, and hash collisions.
func TestOverlayIsAMap(t *testing.T) {
	ov := newOverlay(false)
	type entry struct {
		val     string
		deleted bool
	}
	model := map[string]entry{}
	key := func(cal, name int) []byte {
		return memberKey(tagMember, "o", fmt.Sprint("c", cal), fmt.Sprint("n", name))
	}

	// A collision: b's slot already holds a's record.
	a, b := key(9, 1), key(9, 2)
	ov.put(a, []byte("A"), false)
	ov.index[maphash.Bytes(ov.seed, b)] = ov.index[maphash.Bytes(ov.seed, a)]
	if _, _, found := ov.lookup(b); found {
		t.Fatal("b found through a's record")
	}
	ov.put(b, []byte("B"), false)
	model[string(a)], model[string(b)] = entry{val: "A"}, entry{val: "B"}

	r := rand.New(rand.NewPCG(1, 2))
	for i := range 200_000 {
		k := key(r.IntN(4), r.IntN(5000))
		switch n := r.IntN(10); {
		case n < 6:
			v := fmt.Sprint(i, string(make([]byte, r.IntN(300))))
			ov.put(k, []byte(v), false)
			model[string(k)] = entry{val: v}
		case n < 8:
			ov.put(k, nil, true)
			model[string(k)] = entry{deleted: true}
		default:
			ov.forget(k)
			delete(model, string(k))
		}
		if i == 150_000 {
			ov.forgetCalendar(calendarMember("o", "c2"))
			for k := range model {
				if k[1:len(calendarMember("o", "c2"))+1] == calendarMember("o", "c2") {
					delete(model, k)
				}
			}
		}
	}
	if len(ov.chunks) < 3 {
		t.Fatalf("%d chunks: growth not exercised", len(ov.chunks))
	}
	for cal := range 10 {
		for name := range 5000 {
			k := key(cal, name)
			val, deleted, found := ov.lookup(k)
			want, ok := model[string(k)]
			if found != ok || deleted != want.deleted || string(val) != want.val {
				t.Fatalf("%q: got %q deleted %v found %v, want %+v (present %v)", k, val, deleted, found, want, ok)
			}
		}
	}
	if _, ok := ov.collided[string(b)]; !ok {
		t.Fatal("the collision was not kept apart")
	}
}
