package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/pleinhq/plein/core/changes"
	"github.com/pleinhq/plein/core/fault"
	"github.com/pleinhq/plein/core/store"
)

// tokenPrefix marks Plein tokens, so they are easy to spot in a leaked file.
const tokenPrefix = "plein_"

// Login limits: failed attempts per client address and per account.
const (
	ipFailures      = 10
	ipWindow        = time.Minute
	accountFailures = 10
	accountWindow   = 10 * time.Minute
)

// Session is the result of a login.
type Session struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      User      `json:"user"`
}

var errBadCredentials = fault.New(fault.Unauthenticated, "invalid_credentials", "email or password is wrong")

// Login checks email and password and returns a new token. Wrong password, unknown
// email and disabled account all give the same Unauthenticated fault after the same
// amount of hashing work. After too many failures from ip, or for one account, it
// returns a RateLimited fault without checking anything.
func (s *Service) Login(ctx context.Context, email, password, ip string) (Session, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	keys := []struct {
		key    string
		limit  int64
		window time.Duration
	}{
		{"login:ip:" + ip, ipFailures, ipWindow},
		{"login:account:" + email, accountFailures, accountWindow},
	}
	for _, k := range keys {
		r, err := s.limiter.Peek(ctx, k.key, k.limit)
		if err != nil {
			// The hashing cost still slows guessing; an outage of the limiter must not lock everyone out.
			s.log.WarnContext(ctx, "login rate limiter unavailable", "err", err)
			continue
		}
		if !r.Allowed {
			return Session{}, &fault.Error{Kind: fault.RateLimited, Code: "rate_limited",
				Detail: "too many failed logins; try again later", RetryAfter: r.RetryAfter}
		}
	}
	if len(password) > MaxPasswordLen {
		password = password[:MaxPasswordLen] // bounded work; such a password cannot match anyway
	}

	var id, hash string
	var disabled bool
	err := s.db.QueryRowContext(ctx, `SELECT id, password_hash, disabled FROM users WHERE email = $1`, email).Scan(&id, &hash, &disabled)
	found := err == nil
	if !found {
		hash = s.hasher.dummy
	}
	ok, verr := s.hasher.verify(ctx, password, hash)
	if verr != nil && ctx.Err() != nil {
		return Session{}, ctx.Err()
	}
	if !found || !ok || disabled || verr != nil {
		for _, k := range keys {
			if _, err := s.limiter.Hit(ctx, k.key, k.limit, k.window); err != nil {
				s.log.WarnContext(ctx, "login rate limiter unavailable", "err", err)
			}
		}
		return Session{}, errBadCredentials
	}
	_ = s.limiter.Reset(ctx, keys[1].key)
	return s.IssueToken(ctx, id)
}

// IssueToken returns a new token for an existing user without a password, for the CLI
// and tests. It returns a NotFound fault for an unknown user.
func (s *Service) IssueToken(ctx context.Context, userID string) (Session, error) {
	u, err := s.GetUser(ctx, userID)
	if err != nil {
		return Session{}, err
	}
	token, err := newToken()
	if err != nil {
		return Session{}, err
	}
	now := s.now().UTC()
	expires := now.Add(s.ttl).Truncate(time.Microsecond)
	if _, err := s.db.ExecContext(ctx, `INSERT INTO tokens (hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		hashToken(token), u.ID, store.Micros(now), store.Micros(expires)); err != nil {
		return Session{}, fmt.Errorf("issue token: %w", err)
	}
	return Session{Token: token, ExpiresAt: expires, User: u}, nil
}

// Authenticate returns the id of the user a token belongs to. It returns an
// Unauthenticated fault for a malformed, unknown, expired or revoked token.
func (s *Service) Authenticate(ctx context.Context, token string) (string, error) {
	if !strings.HasPrefix(token, tokenPrefix) || len(token) != len(tokenPrefix)+43 {
		return "", fault.New(fault.Unauthenticated, "invalid_token", "the token is malformed")
	}
	hash := hashToken(token)
	now := s.now()
	if id, ok := s.tokens.get(hash, now); ok {
		return id, nil
	}
	gen := s.tokens.generation()
	var id string
	var expires int64
	err := s.db.QueryRowContext(ctx, `SELECT user_id, expires_at FROM tokens WHERE hash = $1`, hash).Scan(&id, &expires)
	if err != nil || !now.Before(store.FromMicros(expires)) {
		if err != nil && !isNoRows(err) {
			return "", fmt.Errorf("authenticate: %w", err)
		}
		return "", fault.New(fault.Unauthenticated, "invalid_token", "the token is unknown, expired or revoked")
	}
	s.tokens.put(hash, id, minTime(store.FromMicros(expires), now.Add(time.Minute)), gen)
	return id, nil
}

// Logout revokes token. Revoking an unknown token is not an error.
func (s *Service) Logout(ctx context.Context, token string) error {
	hash := hashToken(token)
	if _, err := s.db.ExecContext(ctx, `DELETE FROM tokens WHERE hash = $1`, hash); err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	s.changes.Publish(ctx, changes.Change{Kind: changes.Token, ID: hash})
	return nil
}

// SweepExpiredTokens deletes expired tokens and returns how many.
func (s *Service) SweepExpiredTokens(ctx context.Context) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM tokens WHERE expires_at <= $1`, store.Micros(s.now()))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func newToken() (string, error) {
	b := make([]byte, 32) // 256 bits
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return tokenPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// tokenCache remembers recently seen tokens for up to a minute. Every invalidation
// bumps the generation; an entry read from SQL before an invalidation is not stored,
// so a revoked token cannot slip back in.
type tokenCache struct {
	mu      sync.Mutex
	max     int
	gen     uint64
	entries map[string]tokenEntry
}

type tokenEntry struct {
	userID  string
	expires time.Time
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{max: max, entries: map[string]tokenEntry{}}
}

func (c *tokenCache) get(hash string, now time.Time) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[hash]
	if !ok || !now.Before(e.expires) {
		return "", false
	}
	return e.userID, true
}

func (c *tokenCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

func (c *tokenCache) put(hash, userID string, expires time.Time, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.entries) >= c.max {
		clear(c.entries) // cheap to refill: one query per active token
	}
	c.entries[hash] = tokenEntry{userID, expires}
}

// onChange drops what a change may have revoked: one token, or (for any user change,
// whose tokens it cannot list) all of them.
func (c *tokenCache) onChange(ch changes.Change) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	switch ch.Kind {
	case changes.Token:
		delete(c.entries, ch.ID)
	case changes.User, changes.All:
		clear(c.entries)
	}
}
