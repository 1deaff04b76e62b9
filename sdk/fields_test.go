package sdk

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestFieldsJSON(t *testing.T) {
	fields := []Field{
		{Name: "count", From: FromCounter, Key: "c/{item}"},
		{Name: "liked", From: FromKVExists, Key: "u/{user}/{item}"},
		{Name: "my_vote", From: FromKVValue, Key: "v/{user}/{item}"},
	}
	kv := map[string][]byte{"u/ann/i%2F1": []byte("x"), "v/ann/i%2F1": []byte("-1"), "v/ann/i2": []byte("not json")}
	values := FieldValues{
		Counter: func(key string) int64 { return map[string]int64{"c/i%2F1": 3}[key] },
		KV:      func(key string) ([]byte, bool) { v, ok := kv[key]; return v, ok },
	}
	for _, c := range []struct{ item, user, want string }{
		{"i/1", "ann", `{"count":3,"liked":true,"my_vote":-1}`},
		{"i2", "ann", `{"count":0,"liked":false,"my_vote":null}`},
		{"i/1", "bob", `{"count":3,"liked":false,"my_vote":null}`},
	} {
		if got := string(FieldsJSON(fields, c.item, c.user, values)); got != c.want {
			t.Errorf("%s as %s: %s, want %s", c.item, c.user, got, c.want)
		}
	}
}

func TestManifestRefusesBadFields(t *testing.T) {
	base := Manifest{Name: "likes", Title: "Likes", Version: "1"}
	for name, f := range map[string][]Field{
		"no name":           {{From: FromCounter, Key: "c/{item}"}},
		"twice":             {{Name: "a", From: FromCounter, Key: "c/{item}"}, {Name: "a", From: FromCounter, Key: "d/{item}"}},
		"unknown source":    {{Name: "a", From: "sql", Key: "c/{item}"}},
		"no item":           {{Name: "a", From: FromCounter, Key: "c/{user}"}},
		"other placeholder": {{Name: "a", From: FromCounter, Key: "c/{item}/{space}"}},
	} {
		m := base
		m.Fields = f
		if err := m.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	base.Fields = []Field{{Name: "count", From: FromCounter, Key: "c/{item}"}, {Name: "liked", From: FromKVExists, Key: "u/{user}/{item}"}}
	if err := base.Validate(); err != nil {
		t.Errorf("good fields: %v", err)
	}
}

// FuzzAppendJSONString checks the fast quoting of field names against json.Marshal.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"count", "liked", `a"b`, "a\\b", "<b>", "é", "\x00", "a&b", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendJSONString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Fatalf("appendJSONString(%q) = %s, want %s", s, got[1:], want)
		}
	})
}
