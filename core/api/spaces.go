package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/pleinhq/plein/core/authz"
	"github.com/pleinhq/plein/core/spaces"
)

// spaceView is a space as its caller sees it.
type spaceView struct {
	spaces.Space
	MyRole *string `json:"my_role"` // the caller's membership role, or null
}

func viewOf(p *authz.Principal, sp spaces.Space) spaceView {
	v := spaceView{Space: sp}
	if r := p.SpaceRole(sp.ID); r != "" {
		v.MyRole = &r
	}
	return v
}

func (s *Server) listSpaces(c *fiber.Ctx) error {
	p := principal(c)
	pg, err := pageOf(queryOf(c), 2)
	if err != nil {
		return err
	}
	set := s.authz.Visible(p)
	q := spaces.Query{All: set.All, IDs: set.IDs, Limit: pg.limit}
	if pg.cursor != nil {
		q.AfterName, q.AfterID = pg.cursor[0], pg.cursor[1]
	}
	list, more, err := s.spaces.List(c.UserContext(), q)
	if err != nil {
		return err
	}
	views := make([]spaceView, len(list))
	for i, sp := range list {
		views[i] = viewOf(p, sp)
	}
	return c.JSON(newList(views, more, func(v spaceView) []string { return []string{v.Name, v.ID} }))
}

type createSpaceRequest struct {
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Visibility  spaces.Visibility `json:"visibility"`
	Roles       []string          `json:"roles"`
}

func (s *Server) createSpace(c *fiber.Ctx) error {
	p := principal(c)
	if err := s.authz.Require(p, authz.Global, "spaces", "create"); err != nil {
		return err
	}
	var req createSpaceRequest
	if err := s.decodeJSON(c, &req); err != nil {
		return err
	}
	sp, err := s.spaces.Create(c.UserContext(), p.UserID, spaces.NewSpace(req))
	if err != nil {
		return err
	}
	// The creator is now the owner; read the principal again to say so.
	if fresh, err := s.authz.Principal(c.UserContext(), p.UserID); err == nil {
		p = fresh
	}
	return c.Status(fiber.StatusCreated).JSON(viewOf(p, sp))
}

func (s *Server) getSpace(c *fiber.Ctx) error {
	p, id := principal(c), c.Params("id")
	if err := s.authz.RequireSpace(p, id, "space", "view"); err != nil {
		return err
	}
	sp, err := s.spaces.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(viewOf(p, sp))
}

type patchSpaceRequest struct {
	Name        *string            `json:"name"`
	Description *string            `json:"description"`
	Visibility  *spaces.Visibility `json:"visibility"`
	Roles       *[]string          `json:"roles"`
}

func (s *Server) patchSpace(c *fiber.Ctx) error {
	p, id := principal(c), c.Params("id")
	if err := s.authz.RequireSpace(p, id, "space", "manage"); err != nil {
		return err
	}
	var req patchSpaceRequest
	if err := s.decodeJSON(c, &req); err != nil {
		return err
	}
	sp, err := s.spaces.Update(c.UserContext(), id, spaces.Patch(req))
	if err != nil {
		return err
	}
	return c.JSON(viewOf(p, sp))
}

func (s *Server) deleteSpace(c *fiber.Ctx) error {
	p, id := principal(c), c.Params("id")
	if err := s.authz.RequireSpace(p, id, "space", "delete"); err != nil {
		return err
	}
	if err := s.spaces.Delete(c.UserContext(), id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) listMembers(c *fiber.Ctx) error {
	p, id := principal(c), c.Params("id")
	if err := s.authz.RequireSpace(p, id, "members", "read"); err != nil {
		return err
	}
	pg, err := pageOf(queryOf(c), 1)
	if err != nil {
		return err
	}
	q := spaces.MemberQuery{Limit: pg.limit}
	if pg.cursor != nil {
		q.After = pg.cursor[0]
	}
	list, more, err := s.spaces.Members(c.UserContext(), id, q)
	if err != nil {
		return err
	}
	return c.JSON(newList(list, more, func(m spaces.MemberInfo) []string { return []string{m.UserID} }))
}

type memberRequest struct {
	Role string `json:"role"`
}

type membership struct {
	SpaceID string `json:"space_id"`
	UserID  string `json:"user_id"`
	Role    string `json:"role"`
}

func (s *Server) putMember(c *fiber.Ctx) error {
	p, id, userID := principal(c), c.Params("id"), c.Params("user_id")
	var req memberRequest
	if err := s.decodeJSON(c, &req); err != nil {
		return err
	}
	if err := s.authz.CheckSetMember(p, id, userID, req.Role); err != nil {
		return err
	}
	created, err := s.spaces.SetMember(c.UserContext(), id, userID, req.Role)
	if err != nil {
		return err
	}
	status := fiber.StatusOK
	if created {
		status = fiber.StatusCreated
	}
	return c.Status(status).JSON(membership{id, userID, req.Role})
}

func (s *Server) deleteMember(c *fiber.Ctx) error {
	p, id, userID := principal(c), c.Params("id"), c.Params("user_id")
	if err := s.authz.CheckRemoveMember(p, id, userID); err != nil {
		return err
	}
	if err := s.spaces.RemoveMember(c.UserContext(), id, userID); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
