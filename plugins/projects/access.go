package main

import (
	"context"
	"errors"

	"github.com/pleinhq/plein/sdk"
)

// role returns the acting user's role in the project: their member role, or
// roleReader if they are no member but may read the project's item (a reader of its
// space). Anyone else gets a not_found problem, so a project they may not read does
// not exist for them. A project outside spaces is its members' only: the host lets
// an item's author read it always, and its creator may have left.
func (p *Plugin) role(ctx context.Context, pr Project) (string, error) {
	if m := pr.member(sdk.CallFrom(ctx).UserID); m != nil {
		return m.Role, nil
	}
	if pr.SpaceID == "" {
		return "", notFound("project")
	}
	_, err := p.host.Items().Get(ctx, pr.ID)
	if errors.Is(err, sdk.ErrNotFound) {
		return "", notFound("project")
	}
	if err != nil {
		return "", err
	}
	return roleReader, nil
}

// readable returns the project and the acting user's role in it, or a not_found
// problem if they may not read it.
func (p *Plugin) readable(ctx context.Context, pid string) (Project, string, error) {
	pr, _, err := p.project(ctx, pid)
	if err != nil {
		return Project{}, "", err
	}
	role, err := p.role(ctx, pr)
	return pr, role, err
}

// mayManage reports whether a user with role may change the project itself and its
// members: its owner, and the moderators of its space.
func (p *Plugin) mayManage(ctx context.Context, pr Project, role string) (bool, error) {
	if role == roleOwner {
		return true, nil
	}
	if pr.SpaceID == "" {
		return false, nil
	}
	return p.host.Authorize(ctx, "moderate", pr.ID)
}

// manageable returns the project and the acting user's role in it if they may
// manage it: a not_found problem if they may not read it, forbidden if they only may.
func (p *Plugin) manageable(ctx context.Context, pid string) (Project, string, error) {
	pr, role, err := p.readable(ctx, pid)
	if err != nil {
		return Project{}, "", err
	}
	ok, err := p.mayManage(ctx, pr, role)
	if err != nil {
		return Project{}, "", err
	}
	if !ok {
		return Project{}, "", forbidden("only the project's owner (or a moderator of its space) may do this")
	}
	return pr, role, nil
}

// workable returns the project if the acting user may work in it (tasks and
// documents): its owner and members, not viewers and readers. An archived project
// is a project_archived conflict.
func (p *Plugin) workable(ctx context.Context, pid string) (Project, error) {
	pr, role, err := p.readable(ctx, pid)
	if err != nil {
		return Project{}, err
	}
	if role != roleOwner && role != roleMember {
		return Project{}, forbidden("only the project's owner and members may do this")
	}
	if pr.Status == statusArchived {
		return Project{}, errArchived
	}
	return pr, nil
}
