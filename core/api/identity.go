package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/pleinhq/plein/core/authz"
	"github.com/pleinhq/plein/core/fault"
	"github.com/pleinhq/plein/core/identity"
)

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func (s *Server) login(c *fiber.Ctx) error {
	var req loginRequest
	if err := s.decodeJSON(c, &req); err != nil {
		return err
	}
	sess, err := s.identity.Login(c.UserContext(), req.Email, req.Password, c.IP())
	if err != nil {
		return err
	}
	return c.JSON(sess)
}

func (s *Server) logout(c *fiber.Ctx) error {
	token, _ := c.Locals(keyToken).(string)
	if err := s.identity.Logout(c.UserContext(), token); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

type spaceRole struct {
	ID   string `json:"id"`
	Role string `json:"role"`
}

type meResponse struct {
	ID     string      `json:"id"`
	Email  string      `json:"email"`
	Name   string      `json:"name"`
	Roles  []string    `json:"roles"`
	Spaces []spaceRole `json:"spaces"`
}

func (s *Server) me(c *fiber.Ctx) error {
	p := principal(c)
	u, err := s.identity.GetUser(c.UserContext(), p.UserID)
	if err != nil {
		return err
	}
	resp := meResponse{ID: u.ID, Email: u.Email, Name: u.Name, Roles: u.Roles, Spaces: []spaceRole{}}
	for id, role := range p.Spaces {
		if s.authz.SpaceExists(id) {
			resp.Spaces = append(resp.Spaces, spaceRole{id, role})
		}
	}
	sortBy(resp.Spaces, func(r spaceRole) string { return r.ID })
	return c.JSON(resp)
}

type passwordRequest struct {
	Current string `json:"current"`
	New     string `json:"new"`
}

// changePassword lets users change their own password; it revokes their other tokens.
func (s *Server) changePassword(c *fiber.Ctx) error {
	var req passwordRequest
	if err := s.decodeJSON(c, &req); err != nil {
		return err
	}
	p := principal(c)
	if err := s.identity.ChangePassword(c.UserContext(), p.UserID, req.Current, req.New); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) listUsers(c *fiber.Ctx) error {
	q := queryOf(c)
	if err := s.authz.Require(principal(c), authz.Global, "users", "read"); err != nil {
		return err
	}
	pg, err := pageOf(q, 1)
	if err != nil {
		return err
	}
	uq := identity.UserQuery{Role: q["role"], Limit: pg.limit}
	if pg.cursor != nil {
		uq.After = pg.cursor[0]
	}
	users, more, err := s.identity.ListUsers(c.UserContext(), uq)
	if err != nil {
		return err
	}
	return c.JSON(newList(users, more, func(u identity.User) []string { return []string{u.Email} }))
}

type createUserRequest struct {
	Email    string   `json:"email"`
	Name     string   `json:"name"`
	Password string   `json:"password"`
	Roles    []string `json:"roles"`
}

func (s *Server) createUser(c *fiber.Ctx) error {
	p := principal(c)
	if err := s.authz.Require(p, authz.Global, "users", "manage"); err != nil {
		return err
	}
	var req createUserRequest
	if err := s.decodeJSON(c, &req); err != nil {
		return err
	}
	if err := s.authz.CheckAssignRoles(p, nil, req.Roles); err != nil {
		return err
	}
	u, err := s.identity.CreateUser(c.UserContext(), identity.NewUser{Email: req.Email, Name: req.Name, Password: req.Password, Roles: req.Roles})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(u)
}

func (s *Server) getUser(c *fiber.Ctx) error {
	id := c.Params("id")
	if err := s.authz.CheckReadUser(principal(c), id); err != nil {
		return err
	}
	u, err := s.identity.GetUser(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(u)
}

type patchUserRequest struct {
	Email    *string `json:"email"`
	Name     *string `json:"name"`
	Password *string `json:"password"`
	Disabled *bool   `json:"disabled"`
}

func (s *Server) patchUser(c *fiber.Ctx) error {
	if err := s.authz.Require(principal(c), authz.Global, "users", "manage"); err != nil {
		return err
	}
	var req patchUserRequest
	if err := s.decodeJSON(c, &req); err != nil {
		return err
	}
	u, err := s.identity.UpdateUser(c.UserContext(), c.Params("id"), identity.UserPatch(req))
	if err != nil {
		return err
	}
	return c.JSON(u)
}

func (s *Server) deleteUser(c *fiber.Ctx) error {
	if err := s.authz.Require(principal(c), authz.Global, "users", "manage"); err != nil {
		return err
	}
	if err := s.identity.DeleteUser(c.UserContext(), c.Params("id")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

type rolesRequest struct {
	Roles []string `json:"roles"`
}

func (s *Server) setUserRoles(c *fiber.Ctx) error {
	p := principal(c)
	if err := s.authz.Require(p, authz.Global, "roles", "assign"); err != nil {
		return err
	}
	var req rolesRequest
	if err := s.decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Roles == nil {
		return fault.Invalidf("roles", "required (an empty array removes every role)")
	}
	cur, err := s.identity.GetUser(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	if err := s.authz.CheckAssignRoles(p, cur.Roles, req.Roles); err != nil {
		return err
	}
	u, err := s.identity.SetRoles(c.UserContext(), cur.ID, req.Roles)
	if err != nil {
		return err
	}
	return c.JSON(u)
}

func (s *Server) listRoles(c *fiber.Ctx) error {
	if err := s.authz.Require(principal(c), authz.Global, "roles", "read"); err != nil {
		return err
	}
	roles, err := s.identity.ListRoles(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(newList(roles, false, nil))
}

type roleRequest struct {
	Name        string  `json:"name"`
	Title       *string `json:"title"`
	Description *string `json:"description"`
}

func (s *Server) createRole(c *fiber.Ctx) error {
	if err := s.authz.Require(principal(c), authz.Global, "roles", "create"); err != nil {
		return err
	}
	var req roleRequest
	if err := s.decodeJSON(c, &req); err != nil {
		return err
	}
	title, desc := req.Name, ""
	if req.Title != nil {
		title = *req.Title
	}
	if req.Description != nil {
		desc = *req.Description
	}
	r, err := s.identity.CreateRole(c.UserContext(), req.Name, title, desc)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(r)
}

type patchRoleRequest struct {
	Title       *string `json:"title"`
	Description *string `json:"description"`
}

func (s *Server) patchRole(c *fiber.Ctx) error {
	if err := s.authz.Require(principal(c), authz.Global, "roles", "update"); err != nil {
		return err
	}
	var req patchRoleRequest
	if err := s.decodeJSON(c, &req); err != nil {
		return err
	}
	r, err := s.identity.UpdateRole(c.UserContext(), c.Params("name"), req.Title, req.Description)
	if err != nil {
		return err
	}
	return c.JSON(r)
}

func (s *Server) deleteRole(c *fiber.Ctx) error {
	if err := s.authz.Require(principal(c), authz.Global, "roles", "delete"); err != nil {
		return err
	}
	if err := s.identity.DeleteRole(c.UserContext(), c.Params("name")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) getPolicy(c *fiber.Ctx) error {
	if err := s.authz.Require(principal(c), authz.Global, "policies", "manage"); err != nil {
		return err
	}
	pl, err := s.authz.Policy()
	if err != nil {
		return err
	}
	return c.JSON(pl)
}

func (s *Server) putPolicy(c *fiber.Ctx) error {
	if err := s.authz.Require(principal(c), authz.Global, "policies", "manage"); err != nil {
		return err
	}
	var pl authz.PolicyLines
	if err := s.decodeJSON(c, &pl); err != nil {
		return err
	}
	if err := s.authz.SetPolicy(c.UserContext(), pl); err != nil {
		return err
	}
	return s.getPolicy(c)
}
