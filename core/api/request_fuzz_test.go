package api

import (
	"testing"

	"github.com/pleinhq/plein/core/fault"
)

// Whatever a client sends as a JSON body, decoding either fills the request or gives an
// Invalid fault; never a panic, never another kind of error (which would be a 500).
func FuzzDecodeStrict(f *testing.F) {
	for _, s := range []string{`{"body":"x"}`, `{"roles":["a"],"title":null}`, `{"parent_id":null,"position":-1}`, `[]`, `{`, `{"body":1}`,
		`{"x":1}`, `{} {}`, `"str"`, `{"body":"\u0000"}`, `{"position":1e400}`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var dst struct {
			Body     string   `json:"body"`
			Title    *string  `json:"title"`
			Roles    []string `json:"roles"`
			ParentID *string  `json:"parent_id"`
			Position *int     `json:"position"`
		}
		if err := decodeStrict(data, &dst); err != nil && !fault.Is(err, fault.Invalid) {
			t.Fatalf("%q: %v is not an Invalid fault", data, err)
		}
	})
}

// A cursor from a client is either one this server gave out, or an Invalid fault.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor("1700000000000000", "06h0gc5kj769jjsx7hv9cpsb60"))
	f.Add("garbage")
	f.Add("")
	f.Add(encodeCursor("a"))
	f.Fuzz(func(t *testing.T, s string) {
		key, err := decodeCursor(s, 2)
		if err != nil {
			if !fault.Is(err, fault.Invalid) {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		if len(key) != 2 || decodeOK(encodeCursor(key...)) != 2 {
			t.Fatalf("%q decoded to %q", s, key)
		}
	})
}

func decodeOK(s string) int {
	k, err := decodeCursor(s, 2)
	if err != nil {
		return -1
	}
	return len(k)
}

func TestEscapedNUL(t *testing.T) {
	for in, want := range map[string]bool{
		`{"a":"x\u0000y"}`:   true,
		`{"a":"\\u0000"}`:    false, // a backslash, then the text u0000
		`{"a":"\\\u0000"}`:   true,  // a backslash, then NUL
		`{"a":"u0000"}`:      false,
		`{"a":"\u00001"}`:    true,
		`{"a":"x"}`:          false,
		`\u0000`:             true,
		`{"a":"\\\\u0000"}`:  false,
		`{"a":"\u0001\u00"}`: false,
	} {
		if got := escapedNUL([]byte(in)); got != want {
			t.Errorf("%s: %v, want %v", in, got, want)
		}
	}
}
