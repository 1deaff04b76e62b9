package uid

import (
	"testing"
	"time"
)

func TestNewIsValidUniqueAndTimeOrdered(t *testing.T) {
	var ids []string
	seen := map[string]bool{}
	for i := range 2000 {
		id := New()
		if !Valid(id) || seen[id] {
			t.Fatalf("bad or repeated id %q", id)
		}
		seen[id] = true
		ids = append(ids, id)
		if i%500 == 0 {
			time.Sleep(2 * time.Millisecond)
		}
	}
	// Each sleep separates ids[i] from ids[i+1] by at least a millisecond.
	for i := 0; i+1 < len(ids); i += 500 {
		if ids[i] >= ids[i+1] {
			t.Fatalf("%s made before %s sorts after it", ids[i], ids[i+1])
		}
	}
}

func TestValidRefusesOtherStrings(t *testing.T) {
	for _, s := range []string{"", "abc", "01HZZZZZZZZZZZZZZZZZZZZZZZ", "0000000000000000000000000i", "../../../../../../../../etc", "00000000000000000000000000x"} {
		if Valid(s) {
			t.Errorf("%q valid", s)
		}
	}
}
