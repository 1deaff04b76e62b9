// Package uid makes the opaque identifiers of Plein's objects.
package uid

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"time"
)

var enc = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// New returns a 26-character identifier: 48 bits of milliseconds since the epoch, then
// 80 random bits, in lower-case Crockford base32. Identifiers made later sort later
// (to the millisecond), which keeps indexes compact.
func New() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixMilli())<<16)
	_, _ = rand.Read(b[6:]) // never fails
	return enc.EncodeToString(b[:])
}

// Valid reports whether s looks like an identifier from New, so malformed ids from
// clients can be answered without a database round trip.
func Valid(s string) bool {
	if len(s) != 26 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' && c != 'i' && c != 'l' && c != 'o' && c != 'u') {
			return false
		}
	}
	return true
}
