package identity

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters: OWASP's recommendation (19 MiB, 2 passes, 1 lane).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024 // KiB
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// HashCost sets the Argon2id cost of new password hashes. The zero value is the
// OWASP recommendation; tests lower it. Verification always uses the cost stored
// in the hash, so changing it never locks anyone out.
type HashCost struct {
	Time      uint32 // passes
	MemoryKiB uint32
}

func (c HashCost) orDefault() HashCost {
	if c.Time == 0 {
		c.Time = argonTime
	}
	if c.MemoryKiB < 8*argonThreads {
		c.MemoryKiB = argonMemory
	}
	return c
}

// Password length bounds. The upper one keeps hashing cost bounded for hostile input.
const (
	MinPasswordLen = 10
	MaxPasswordLen = 1024
)

var errBadHash = errors.New("identity: malformed password hash")

var b64 = base64.RawStdEncoding

// hasher hashes and verifies passwords, a few at a time: each hash takes 19 MiB, so
// a burst of logins queues instead of exhausting memory.
type hasher struct {
	cost  HashCost
	slots chan struct{}
	dummy string // verified against when the email is unknown, so timing says nothing
}

func newHasher(cost HashCost) *hasher {
	h := &hasher{cost: cost.orDefault(), slots: make(chan struct{}, max(2, runtime.NumCPU()))}
	h.dummy, _ = h.hash(context.Background(), "not a password of anyone")
	return h
}

func (h *hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *hasher) release() { <-h.slots }

// hash returns the PHC string of password: $argon2id$v=19$m=...,t=...,p=...$salt$key.
func (h *hasher) hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	_, _ = rand.Read(salt)
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, h.cost.Time, h.cost.MemoryKiB, argonThreads, argonKeyLen)
	h.release()
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.cost.MemoryKiB, h.cost.Time, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// verify reports whether password matches encoded, using the parameters stored in it.
func (h *hasher) verify(ctx context.Context, password, encoded string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errBadHash
	}
	var version int
	var mem, iter uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &iter, &threads); err != nil || mem == 0 || mem > 1<<20 || iter == 0 || iter > 16 || threads == 0 {
		return false, errBadHash
	}
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false, errBadHash
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, iter, mem, threads, uint32(len(want)))
	h.release()
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
