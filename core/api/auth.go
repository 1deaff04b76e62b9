package api

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/pleinhq/plein/core/authz"
	"github.com/pleinhq/plein/core/fault"
)

const (
	keyPrincipal localKey = iota + 100
	keyToken
)

var errNoToken = fault.New(fault.Unauthenticated, "unauthenticated", "send Authorization: Bearer <token>; get one from POST /api/v1/auth/login")

// bearer returns the token of an "Authorization: Bearer <token>" header, or "".
func bearer(c *fiber.Ctx) string {
	h := c.Get(fiber.HeaderAuthorization)
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// authenticate admits requests with a valid token and stores the principal for the
// handler. Everything else gets a 401 problem.
func (s *Server) authenticate(c *fiber.Ctx) error {
	token := bearer(c)
	if token == "" {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="plein"`)
		return errNoToken
	}
	userID, err := s.identity.Authenticate(c.UserContext(), token)
	if err != nil {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="plein", error="invalid_token"`)
		return err
	}
	p, err := s.authz.Principal(c.UserContext(), userID)
	if err != nil {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="plein", error="invalid_token"`)
		return err
	}
	c.Locals(keyPrincipal, p)
	c.Locals(keyToken, token)
	return c.Next()
}

// principal returns the authenticated caller; only routes behind authenticate call it.
func principal(c *fiber.Ctx) *authz.Principal {
	p, _ := c.Locals(keyPrincipal).(*authz.Principal)
	return p
}
