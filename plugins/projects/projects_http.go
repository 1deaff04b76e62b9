package main

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/pleinhq/plein/sdk"
)

// memberInput is a member as requests name them.
type memberInput struct {
	UserID string `json:"user_id"`
	Role   string `json:"role"`
}

// createProject starts a project owned by the acting user: POST /projects
// {"space_id"?, "name", "description"?, "members"?: [{"user_id", "role"?}]}. In a
// space the user must be allowed to create content there; outside spaces only the
// members read it.
func (p *Plugin) createProject(w http.ResponseWriter, r *http.Request) error {
	ctx, user := r.Context(), sdk.CallFrom(r.Context()).UserID
	if _, err := query(r); err != nil {
		return err
	}
	obj, err := decodeObject(r, "space_id", "name", "description", "members")
	if err != nil {
		return err
	}
	var space, name, description string
	var members []memberInput
	for f, v := range map[string]any{"space_id": &space, "name": &name, "description": &description, "members": &members} {
		if _, err := field(obj, f, v); err != nil {
			return err
		}
	}
	if space != "" && !validID(space) {
		return invalid("space_id is not a space id")
	}
	if name, err = cleanText("name", name, 1, maxName, false); err != nil {
		return err
	}
	if description, err = cleanText("description", description, 0, maxText, true); err != nil {
		return err
	}
	now := p.now().UTC()
	pr := Project{SpaceID: space, Name: name, Description: description, Owner: user, Status: statusActive,
		Members: []Member{{UserID: user, Role: roleOwner, AddedAt: now}}, CreatedBy: user, CreatedAt: now, UpdatedAt: now}
	if len(members) >= maxMembers {
		return invalid("a project has at most %d members", maxMembers)
	}
	for _, m := range members {
		if m.Role == "" {
			m.Role = roleMember
		}
		switch {
		case !validID(m.UserID):
			return invalid("members: %q is not a user id", m.UserID)
		case m.Role != roleMember && m.Role != roleViewer:
			return invalid(`members: role %q: want "member" or "viewer" (the creator owns the project)`, m.Role)
		case m.UserID == user:
			return invalid("members: the creator owns the project already")
		case pr.member(m.UserID) != nil:
			return invalid("members: %q is named twice", m.UserID)
		}
		pr.Members = append(pr.Members, Member{UserID: m.UserID, Role: m.Role, AddedAt: now})
	}

	pr.ID, err = p.host.Items().Register(ctx, sdk.NewItem{Kind: kindProject, SpaceID: space, Title: name, Body: description,
		Restricted: pr.grantees()})
	switch {
	case errors.Is(err, sdk.ErrNotFound):
		return notFound("space")
	case errors.Is(err, sdk.ErrForbidden) && space == "":
		return forbidden("projects outside spaces are off here (the feature is on in some spaces only): start it in a space")
	case errors.Is(err, sdk.ErrForbidden):
		return forbidden("you may not start projects in this space")
	case errors.Is(err, sdk.ErrInvalid):
		return invalid("the project's text was refused: %v", err)
	case err != nil:
		return err
	}
	if err := p.store(ctx, pr); err != nil {
		if perr := p.purge(asPlugin(ctx), pr); perr != nil {
			p.log.Error("clean up a project that failed to store", "project", pr.ID, "err", perr)
		}
		return err
	}
	p.publish(ctx, "projects.created", pr, map[string]any{"project_id": pr.ID, "name": pr.Name, "space_id": pr.SpaceID})
	return sdk.WriteJSON(w, http.StatusCreated, viewProject(pr, roleOwner))
}

// store writes a new project's indexes, then its record.
func (p *Plugin) store(ctx context.Context, pr Project) error {
	kv := p.host.KV()
	for _, m := range pr.Members {
		if _, err := kv.Put(ctx, memberKey(m.UserID, pr.ID), nil); err != nil {
			return err
		}
	}
	if pr.SpaceID != "" {
		if _, err := kv.Put(ctx, spaceKey(pr.SpaceID, pr.ID), nil); err != nil {
			return err
		}
	}
	return p.put(ctx, projectKey(pr.ID), pr)
}

// listProjects answers GET /projects: the acting user's projects (?member=me, the
// default) or a space's projects they may read (?space=<id>), in id order (the order
// they were started), optionally of one ?status=, a page at a time.
func (p *Plugin) listProjects(w http.ResponseWriter, r *http.Request) error {
	ctx, user := r.Context(), sdk.CallFrom(r.Context()).UserID
	q, err := query(r, "member", "space", "status", "limit", "cursor")
	if err != nil {
		return err
	}
	limit, cursor, err := page(q)
	if err != nil {
		return err
	}
	if v, ok := q["member"]; ok && v != "me" {
		return invalid(`member must be "me"`)
	}
	status := q["status"]
	if status != "" && status != statusActive && status != statusArchived {
		return invalid(`status must be "active" or "archived"`)
	}
	prefix := memberPrefix(user)
	space, bySpace := q["space"]
	if bySpace {
		if _, ok := q["member"]; ok {
			return invalid("give member or space, not both")
		}
		if !validID(space) {
			return invalid("space is not a space id")
		}
		prefix = spacePrefix(space)
	}
	after := ""
	if cursor != "" {
		if !validID(cursor) {
			return invalid("cursor is not one this list gave")
		}
		after = prefix + url.PathEscape(cursor)
	}
	// The space's readers read all of its projects or none: ask the host once.
	var spaceReadable *bool
	out, next, err := p.scanProjects(ctx, prefix, after, limit, status, func(pr Project) (string, error) {
		if m := pr.member(user); m != nil {
			return m.Role, nil
		}
		if !bySpace || pr.SpaceID != space {
			return "", nil
		}
		if spaceReadable == nil {
			_, err := p.role(ctx, pr)
			if err != nil && !isProblem(err, http.StatusNotFound) {
				return "", err
			}
			ok := err == nil
			spaceReadable = &ok
		}
		if *spaceReadable {
			return roleReader, nil
		}
		return "", nil
	})
	if err != nil {
		return err
	}
	return sdk.WriteJSON(w, http.StatusOK, newList(out, next))
}

// scanProjects walks the index under prefix from the key after, reads the projects
// it names a batch at a time and keeps those of the status ("" for any) to which
// roleOf gives the user a role, until it has limit. It returns them and the id to
// go on after, "" at the end.
func (p *Plugin) scanProjects(ctx context.Context, prefix, after string, limit int, status string,
	roleOf func(Project) (string, error)) ([]projectView, string, error) {
	var out []projectView
	for {
		entries, more, err := p.host.KV().List(ctx, prefix, after, limit)
		if err != nil {
			return nil, "", err
		}
		pids := make([]string, len(entries))
		keys := make([]string, len(entries))
		for i, e := range entries {
			if pids[i], err = lastSegment(e.Key); err != nil {
				return nil, "", err
			}
			keys[i] = projectKey(pids[i])
		}
		records, err := p.host.KV().BatchGet(ctx, keys)
		if err != nil {
			return nil, "", err
		}
		for i, e := range entries {
			after = e.Key
			rec, ok := records[keys[i]]
			if !ok {
				continue // an index entry of a project being created or deleted
			}
			var pr Project
			if err := decode(rec, &pr); err != nil {
				return nil, "", err
			}
			role, err := roleOf(pr)
			if err != nil {
				return nil, "", err
			}
			if role == "" || (status != "" && pr.Status != status) {
				continue
			}
			out = append(out, viewProject(pr, role))
			if len(out) == limit {
				if i < len(entries)-1 || more != "" {
					return out, pr.ID, nil
				}
				return out, "", nil
			}
		}
		if more == "" {
			return out, "", nil
		}
	}
}

// isProblem reports whether err is a problem with the status.
func isProblem(err error, status int) bool {
	var pr *problem
	return errors.As(err, &pr) && pr.status == status
}

// projectPage is GET /projects/{id}'s answer: the project and the linked documents
// the reader may read.
type projectPage struct {
	projectView
	Documents []documentView `json:"documents"`
}

// getProject answers GET /projects/{id} for anyone who may read the project.
func (p *Plugin) getProject(w http.ResponseWriter, r *http.Request) error {
	if _, err := query(r); err != nil {
		return err
	}
	pid, err := pathID(r, "id", "project")
	if err != nil {
		return err
	}
	pr, role, err := p.readable(r.Context(), pid)
	if err != nil {
		return err
	}
	docs, err := p.documents(r.Context(), pr)
	if err != nil {
		return err
	}
	return sdk.WriteJSON(w, http.StatusOK, projectPage{projectView: viewProject(pr, role), Documents: docs})
}

// patchProject changes a project's name, description or status ("active" or
// "archived"): PATCH /projects/{id}, for its owner and its space's moderators. An
// archived project changes only back to active.
func (p *Plugin) patchProject(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if _, err := query(r); err != nil {
		return err
	}
	pid, err := pathID(r, "id", "project")
	if err != nil {
		return err
	}
	pr, role, err := p.manageable(ctx, pid)
	if err != nil {
		return err
	}
	obj, err := decodeObject(r, "name", "description", "status")
	if err != nil {
		return err
	}
	var name, description, status string
	hasName, err := field(obj, "name", &name)
	if err != nil {
		return err
	}
	hasDescription, err := field(obj, "description", &description)
	if err != nil {
		return err
	}
	hasStatus, err := field(obj, "status", &status)
	if err != nil {
		return err
	}
	if hasName {
		if name, err = cleanText("name", name, 1, maxName, false); err != nil {
			return err
		}
	}
	if hasDescription {
		if description, err = cleanText("description", description, 0, maxText, true); err != nil {
			return err
		}
	}
	if hasStatus && status != statusActive && status != statusArchived {
		return invalid(`status must be "active" or "archived"`)
	}
	before, after, err := p.update(ctx, pr.ID, func(pr *Project) error {
		if len(obj) == 0 {
			return errUnchanged
		}
		if hasStatus && status != pr.Status {
			pr.Status = status
			if status == statusArchived {
				at := p.now().UTC()
				pr.ArchivedAt = &at
			} else {
				pr.ArchivedAt = nil
			}
		}
		if pr.Status == statusArchived && (hasName || hasDescription) {
			return errArchived
		}
		if hasName {
			pr.Name = name
		}
		if hasDescription {
			pr.Description = description
		}
		return nil
	})
	if err != nil {
		return err
	}
	if before.Name != after.Name || before.Description != after.Description {
		if err := p.syncItem(ctx, after); err != nil {
			return err
		}
	}
	switch {
	case before.Status == statusActive && after.Status == statusArchived:
		p.announce(ctx, after, "projects.archived", "Project archived: "+after.Name,
			map[string]any{"project_id": after.ID, "name": after.Name})
	case before.Status == statusArchived && after.Status == statusActive:
		p.publish(ctx, "projects.reopened", after, map[string]any{"project_id": after.ID, "name": after.Name})
	}
	if m := after.member(sdk.CallFrom(ctx).UserID); m != nil {
		role = m.Role
	}
	return sdk.WriteJSON(w, http.StatusOK, viewProject(after, role))
}

// deleteProject deletes a project with its tasks, links and activity items: DELETE
// /projects/{id}, for its owner and its space's moderators.
func (p *Plugin) deleteProject(w http.ResponseWriter, r *http.Request) error {
	if _, err := query(r); err != nil {
		return err
	}
	pid, err := pathID(r, "id", "project")
	if err != nil {
		return err
	}
	pr, _, err := p.manageable(r.Context(), pid)
	if err != nil {
		return err
	}
	if err := p.purge(asPlugin(r.Context()), pr); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// sortedMembers orders members as records keep them: the owner, then by joining.
func sortedMembers(ms []Member, owner string) {
	slices.SortStableFunc(ms, func(a, b Member) int {
		switch {
		case a.UserID == owner:
			return -1
		case b.UserID == owner:
			return 1
		}
		return a.AddedAt.Compare(b.AddedAt)
	})
}
