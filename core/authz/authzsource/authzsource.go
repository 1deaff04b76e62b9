// Package authzsource lets the authorizer read users from identity and spaces from
// spaces, so that core/authz depends on neither.
package authzsource

import (
	"context"

	"github.com/pleinhq/plein/core/authz"
	"github.com/pleinhq/plein/core/fault"
	"github.com/pleinhq/plein/core/identity"
	"github.com/pleinhq/plein/core/spaces"
)

// New returns the authorizer's source of users and spaces.
func New(users *identity.Service, sp *spaces.Service) authz.Source {
	return source{users, sp}
}

type source struct {
	users  *identity.Service
	spaces *spaces.Service
}

func (s source) User(ctx context.Context, id string) (authz.UserInfo, bool, error) {
	u, err := s.users.GetUser(ctx, id)
	if fault.Is(err, fault.NotFound) {
		return authz.UserInfo{}, false, nil
	}
	if err != nil {
		return authz.UserInfo{}, false, err
	}
	m, err := s.spaces.MembershipsOf(ctx, id)
	if err != nil {
		return authz.UserInfo{}, false, err
	}
	return authz.UserInfo{Roles: u.Roles, Spaces: m, Disabled: u.Disabled}, true, nil
}

func (s source) Spaces(ctx context.Context) ([]authz.SpaceInfo, error) {
	list, err := s.spaces.AccessList(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]authz.SpaceInfo, len(list))
	for i, a := range list {
		out[i] = authz.SpaceInfo{ID: a.ID, Visibility: string(a.Visibility), Roles: a.Roles}
	}
	return out, nil
}

func (s source) Space(ctx context.Context, id string) (authz.SpaceInfo, bool, error) {
	a, found, err := s.spaces.AccessOf(ctx, id)
	if err != nil || !found {
		return authz.SpaceInfo{}, found, err
	}
	return authz.SpaceInfo{ID: a.ID, Visibility: string(a.Visibility), Roles: a.Roles}, true, nil
}
