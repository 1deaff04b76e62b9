package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/pleinhq/plein/sdk"
)

// KV keys; every id is path-escaped. See the package comment.
func projectKey(pid string) string        { return "p/" + url.PathEscape(pid) }
func memberKey(user, pid string) string   { return memberPrefix(user) + url.PathEscape(pid) }
func memberPrefix(user string) string     { return "m/" + url.PathEscape(user) + "/" }
func spaceKey(space, pid string) string   { return spacePrefix(space) + url.PathEscape(pid) }
func spacePrefix(space string) string     { return "s/" + url.PathEscape(space) + "/" }
func taskKey(pid, tid string) string      { return taskPrefix(pid) + url.PathEscape(tid) }
func taskPrefix(pid string) string        { return "t/" + url.PathEscape(pid) + "/" }
func docKey(pid, item string) string      { return docPrefix(pid) + url.PathEscape(item) }
func docPrefix(pid string) string         { return "d/" + url.PathEscape(pid) + "/" }
func activityKey(pid, item string) string { return activityPrefix(pid) + url.PathEscape(item) }
func activityPrefix(pid string) string    { return "l/" + url.PathEscape(pid) + "/" }
func refKey(item, pid string) string      { return refPrefix(item) + url.PathEscape(pid) }
func refPrefix(item string) string        { return "r/" + url.PathEscape(item) + "/" }

func assignKey(user, pid, tid string) string {
	return assignProjectPrefix(user, pid) + url.PathEscape(tid)
}
func assignProjectPrefix(user, pid string) string {
	return assignPrefix(user) + url.PathEscape(pid) + "/"
}
func assignPrefix(user string) string { return "a/" + url.PathEscape(user) + "/" }

// Counters: a project's number of tasks (for maxTasks) and the last default order.
func taskCount(pid string) string { return "n/" + url.PathEscape(pid) }
func taskOrder(pid string) string { return "o/" + url.PathEscape(pid) }

// casAttempts bounds read-modify-write retries under contention.
const casAttempts = 8

// get reads the JSON value at key into v and returns its version.
func (p *Plugin) get(ctx context.Context, key string, v any) (int64, error) {
	e, err := p.host.KV().Get(ctx, key)
	if err != nil {
		return 0, err
	}
	return e.Version, decode(e, v)
}

// put writes v as JSON at key.
func (p *Plugin) put(ctx context.Context, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = p.host.KV().Put(ctx, key, data)
	return err
}

// create writes v as JSON at key if the key is free, and reports whether it was.
func (p *Plugin) create(ctx context.Context, key string, v any) (bool, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return false, err
	}
	_, err = p.host.KV().CAS(ctx, key, data, 0)
	if errors.Is(err, sdk.ErrConflict) {
		return false, nil
	}
	return err == nil, err
}

// project reads a project; a missing one is a not_found problem.
func (p *Plugin) project(ctx context.Context, pid string) (Project, int64, error) {
	var pr Project
	v, err := p.get(ctx, projectKey(pid), &pr)
	if errors.Is(err, sdk.ErrNotFound) {
		return Project{}, 0, notFound("project")
	}
	return pr, v, err
}

// errUnchanged, from an update's change, leaves the record as it is.
var errUnchanged = errors.New("unchanged")

// update applies change to the project's stored record with compare-and-set,
// reading again after a concurrent write, and returns the record before and after.
// An error from change (a problem, say) is returned as it is, but errUnchanged,
// which returns the record unchanged.
func (p *Plugin) update(ctx context.Context, pid string, change func(*Project) error) (before, after Project, err error) {
	for range casAttempts {
		pr, version, err := p.project(ctx, pid)
		if err != nil {
			return Project{}, Project{}, err
		}
		before = pr
		before.Members = append([]Member(nil), pr.Members...)
		if err := change(&pr); errors.Is(err, errUnchanged) {
			return before, before, nil
		} else if err != nil {
			return Project{}, Project{}, err
		}
		pr.UpdatedAt = p.now().UTC()
		data, err := json.Marshal(pr)
		if err != nil {
			return Project{}, Project{}, err
		}
		_, err = p.host.KV().CAS(ctx, projectKey(pid), data, version)
		if errors.Is(err, sdk.ErrConflict) {
			continue
		}
		return before, pr, err
	}
	return Project{}, Project{}, conflict("busy", "the project changed too often meanwhile; try again")
}

// task reads a task of a project; a missing one is a not_found problem.
func (p *Plugin) task(ctx context.Context, pid, tid string) (Task, int64, error) {
	var t Task
	v, err := p.get(ctx, taskKey(pid, tid), &t)
	if errors.Is(err, sdk.ErrNotFound) {
		return Task{}, 0, notFound("task")
	}
	return t, v, err
}

// each calls fn with every entry under prefix, in key order, a page at a time.
func (p *Plugin) each(ctx context.Context, prefix string, fn func(e sdk.Entry) error) error {
	for after := ""; ; {
		entries, next, err := p.host.KV().List(ctx, prefix, after, sdk.MaxListLimit)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := fn(e); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		after = next
	}
}

// lastSegment returns the unescaped last path segment of a key.
func lastSegment(key string) (string, error) {
	return url.PathUnescape(key[strings.LastIndexByte(key, '/')+1:])
}

// decode decodes the entry's JSON value into v.
func decode(e sdk.Entry, v any) error {
	if err := json.Unmarshal(e.Value, v); err != nil {
		return fmt.Errorf("decode %s: %w", e.Key, err)
	}
	return nil
}

// tasks reads every task of a project.
func (p *Plugin) tasks(ctx context.Context, pid string) ([]Task, error) {
	var out []Task
	err := p.each(ctx, taskPrefix(pid), func(e sdk.Entry) error {
		var t Task
		if err := decode(e, &t); err != nil {
			return err
		}
		out = append(out, t)
		return nil
	})
	return out, err
}
