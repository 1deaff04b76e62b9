package api

import (
	"fmt"
	"testing"
)

func TestParseRange(t *testing.T) {
	for _, c := range []struct {
		h      string
		size   int64
		want   byteRange
		result rangeResult
	}{
		{"bytes=0-9", 100, byteRange{0, 10}, rangePart},
		{"bytes=90-", 100, byteRange{90, 10}, rangePart},
		{"bytes=90-1000", 100, byteRange{90, 10}, rangePart},
		{"bytes=-10", 100, byteRange{90, 10}, rangePart},
		{"bytes=-1000", 100, byteRange{0, 100}, rangePart},
		{" bytes=5-5 ", 100, byteRange{5, 1}, rangePart},
		{"bytes=100-", 100, byteRange{}, rangeUnsatisfiable},
		{"bytes=-0", 100, byteRange{}, rangeUnsatisfiable},
		{"bytes=0-", 0, byteRange{}, rangeUnsatisfiable},
		{"bytes=9-5", 100, byteRange{}, rangeWhole},
		{"bytes=0-1,3-4", 100, byteRange{}, rangeWhole},
		{"bytes=a-b", 100, byteRange{}, rangeWhole},
		{"bytes=+1-2", 100, byteRange{}, rangeWhole},
		{"bytes=99999999999999999999-", 100, byteRange{}, rangeWhole},
		{"bits=0-1", 100, byteRange{}, rangeWhole},
		{"bytes=", 100, byteRange{}, rangeWhole},
		{"bytes=-", 100, byteRange{}, rangeWhole},
	} {
		got, result := parseRange(c.h, c.size)
		if got != c.want || result != c.result {
			t.Errorf("parseRange(%q, %d) = %v %d, want %v %d", c.h, c.size, got, result, c.want, c.result)
		}
	}
}

// FuzzParseRange checks that whatever the header, a range it serves lies inside the file.
func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-9", "bytes=-5", "bytes=5-", "bytes=0-1,2-3", "bytes=9223372036854775807-", "bytes=-9223372036854775807"} {
		f.Add(s, int64(100))
	}
	f.Fuzz(func(t *testing.T, h string, size int64) {
		if size < 0 {
			size = -size
		}
		if size < 0 { // the smallest int64
			return
		}
		r, result := parseRange(h, size)
		if result == rangePart && (r.start < 0 || r.length < 1 || r.start+r.length > size || r.start+r.length < r.start) {
			t.Fatalf("parseRange(%q, %d) = %v: outside the file", h, size, r)
		}
		if result != rangePart && r != (byteRange{}) {
			t.Fatalf("parseRange(%q, %d) = %v with result %d", h, size, r, result)
		}
		_ = fmt.Sprint(r)
	})
}
