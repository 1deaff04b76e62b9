package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/pleinhq/plein/sdk"
)

var errOwnerStays = conflict("owner_required", "a project keeps its owner: make another member owner first")

// putMember adds a member or changes their role: PUT /projects/{id}/members/{user_id}
// {"role": "owner"|"member"|"viewer"}, for the owner and the space's moderators.
// Making someone owner hands the project over: the previous owner stays a member.
// 201 with the membership when it is new, else 200.
func (p *Plugin) putMember(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if _, err := query(r); err != nil {
		return err
	}
	pid, err := pathID(r, "id", "project")
	if err != nil {
		return err
	}
	pr, _, err := p.manageable(ctx, pid)
	if err != nil {
		return err
	}
	uid := r.PathValue("user_id")
	if !validID(uid) {
		return invalid("user_id is not a user id")
	}
	obj, err := decodeObject(r, "role")
	if err != nil {
		return err
	}
	var role string
	if _, err := field(obj, "role", &role); err != nil {
		return err
	}
	if role != roleOwner && role != roleMember && role != roleViewer {
		return invalid(`role must be "owner", "member" or "viewer"`)
	}
	if pr.Status == statusArchived {
		return errArchived
	}
	// The index first: see the package comment.
	if _, err := p.host.KV().Put(ctx, memberKey(uid, pid), nil); err != nil {
		return err
	}
	added := false
	before, after, err := p.update(ctx, pid, func(pr *Project) error {
		if pr.Status == statusArchived {
			return errArchived
		}
		m := pr.member(uid)
		added = m == nil
		if added && len(pr.Members) >= maxMembers {
			return conflict("too_many_members", fmt.Sprintf("a project has at most %d members", maxMembers))
		}
		switch {
		case role == roleOwner && uid == pr.Owner:
			return errUnchanged
		case role == roleOwner:
			if previous := pr.member(pr.Owner); previous != nil {
				previous.Role = roleMember
			}
			pr.Owner = uid
		case uid == pr.Owner:
			return errOwnerStays
		}
		if added {
			pr.Members = append(pr.Members, Member{UserID: uid, Role: role, AddedAt: p.now().UTC()})
		} else {
			pr.member(uid).Role = role
		}
		sortedMembers(pr.Members, pr.Owner)
		return nil
	})
	if err != nil {
		return err
	}
	if len(before.Members) != len(after.Members) {
		if err := p.syncReaders(ctx, after); err != nil {
			return err
		}
	}
	status := http.StatusOK
	if added {
		status = http.StatusCreated
	}
	return sdk.WriteJSON(w, status, *after.member(uid))
}

// deleteMember takes a member out of a project: DELETE
// /projects/{id}/members/{user_id}, for the owner and the space's moderators, and
// for members leaving. The owner cannot leave; their open tasks lose their assignee.
// 204, also when the user was no member.
func (p *Plugin) deleteMember(w http.ResponseWriter, r *http.Request) error {
	ctx, user := r.Context(), sdk.CallFrom(r.Context()).UserID
	if _, err := query(r); err != nil {
		return err
	}
	pid, err := pathID(r, "id", "project")
	if err != nil {
		return err
	}
	pr, role, err := p.readable(ctx, pid)
	if err != nil {
		return err
	}
	uid := r.PathValue("user_id")
	if !validID(uid) {
		return invalid("user_id is not a user id")
	}
	if uid != user {
		ok, err := p.mayManage(ctx, pr, role)
		if err != nil {
			return err
		}
		if !ok {
			return forbidden("only the project's owner (or a moderator of its space) may remove others")
		}
	}
	if err := p.removeMember(ctx, pid, uid, false); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// removeMember takes the user out of the project: their open tasks there lose their
// assignee (all of them when their account is gone), and the project's items
// outside spaces their readership. An owner cannot leave, unless their account is
// gone: then the earliest member (else viewer) takes over, and a project nobody is
// left in is deleted. It is idempotent; a missing project is fine.
func (p *Plugin) removeMember(ctx context.Context, pid, uid string, accountGone bool) error {
	empty := false
	before, after, err := p.update(ctx, pid, func(pr *Project) error {
		if pr.member(uid) == nil {
			return errUnchanged
		}
		if uid == pr.Owner {
			if !accountGone {
				return errOwnerStays
			}
			next := pr.successor(uid)
			if next == "" {
				empty = true
				return errUnchanged
			}
			pr.member(next).Role = roleOwner
			pr.Owner = next
		}
		pr.removeMember(uid)
		sortedMembers(pr.Members, pr.Owner)
		return nil
	})
	missing := isProblem(err, http.StatusNotFound)
	switch {
	case err != nil && !missing:
		return err
	case empty:
		return p.purge(asPlugin(ctx), before)
	}
	if err := p.unassign(ctx, pid, uid, accountGone); err != nil {
		return err
	}
	if err := p.host.KV().Delete(ctx, memberKey(uid, pid)); err != nil {
		return err
	}
	if missing || len(before.Members) == len(after.Members) {
		return nil
	}
	return p.syncReaders(ctx, after)
}

// unassign takes the user's open tasks in the project (all of them with all) off
// them, and drops the index entries of the tasks they no longer hold. Done tasks
// keep their assignee, for the record.
func (p *Plugin) unassign(ctx context.Context, pid, uid string, all bool) error {
	return p.each(ctx, assignProjectPrefix(uid, pid), func(e sdk.Entry) error {
		tid, err := lastSegment(e.Key)
		if err != nil {
			return err
		}
		t, err := p.changeTask(ctx, pid, tid, func(t *Task) error {
			if t.Assignee != uid || (t.Status == taskDone && !all) {
				return errUnchanged
			}
			t.Assignee = ""
			return nil
		})
		if isProblem(err, http.StatusNotFound) || (err == nil && t.Assignee != uid) {
			return p.host.KV().Delete(ctx, e.Key)
		}
		return err
	})
}

// changeTask applies change to the stored task with compare-and-set and returns it.
// errUnchanged from change returns the task as it is.
func (p *Plugin) changeTask(ctx context.Context, pid, tid string, change func(*Task) error) (Task, error) {
	for range casAttempts {
		t, version, err := p.task(ctx, pid, tid)
		if err != nil {
			return Task{}, err
		}
		if err := change(&t); errors.Is(err, errUnchanged) {
			return t, nil
		} else if err != nil {
			return Task{}, err
		}
		t.UpdatedAt = p.now().UTC()
		data, err := json.Marshal(t)
		if err != nil {
			return Task{}, err
		}
		_, err = p.host.KV().CAS(ctx, taskKey(pid, tid), data, version)
		if errors.Is(err, sdk.ErrConflict) {
			continue
		}
		return t, err
	}
	return Task{}, conflict("busy", "the task changed too often meanwhile; try again")
}
