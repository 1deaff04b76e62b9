package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pleinhq/plein/sdk"
)

// taskInput is a task's fields as POST and PATCH give them; has tells which.
type taskInput struct {
	title, description, assignee, dueDate, status string
	order                                         int64
	has                                           map[string]bool
}

// readTask reads and checks a task's fields from the body. Creating, the title is
// required and the status defaults to "todo". null clears the assignee and the due
// date; a field that cannot be empty refuses it.
func readTask(r *http.Request, creating bool) (taskInput, error) {
	obj, err := decodeObject(r, "title", "description", "assignee", "due_date", "status", "order")
	if err != nil {
		return taskInput{}, err
	}
	in := taskInput{has: map[string]bool{}}
	for name := range obj {
		in.has[name] = true
	}
	for name, dst := range map[string]*string{"title": &in.title, "description": &in.description, "assignee": &in.assignee,
		"due_date": &in.dueDate, "status": &in.status} {
		if _, err := field(obj, name, dst); err != nil {
			return taskInput{}, err
		}
	}
	if isNull(obj, "order") {
		return taskInput{}, invalid("order must be an integer")
	}
	if _, err := field(obj, "order", &in.order); err != nil {
		return taskInput{}, err
	}
	if creating || in.has["title"] {
		if in.title, err = cleanText("title", in.title, 1, maxName, false); err != nil {
			return taskInput{}, err
		}
	}
	if in.description, err = cleanText("description", in.description, 0, maxText, true); err != nil {
		return taskInput{}, err
	}
	if in.assignee != "" && !validID(in.assignee) {
		return taskInput{}, invalid("assignee is not a user id")
	}
	if in.dueDate != "" {
		if _, err := time.Parse(time.DateOnly, in.dueDate); err != nil {
			return taskInput{}, invalid("due_date must be a date such as 2026-05-31")
		}
	}
	if creating && !in.has["status"] {
		in.status = taskTodo
	}
	if (creating || in.has["status"]) && in.status != taskTodo && in.status != taskDoing && in.status != taskDone {
		return taskInput{}, invalid(`status must be "todo", "doing" or "done"`)
	}
	if in.order < -maxOrder || in.order > maxOrder {
		return taskInput{}, invalid("order must be from %d to %d", -maxOrder, maxOrder)
	}
	return in, nil
}

// checkAssignee refuses an assignee who cannot work in the project.
func checkAssignee(pr Project, user string) error {
	if m := pr.member(user); m == nil || (m.Role != roleOwner && m.Role != roleMember) {
		return invalid("the assignee must be the project's owner or one of its members (not a viewer)")
	}
	return nil
}

// createTask adds a task: POST /projects/{id}/tasks {"title", "description"?,
// "assignee"?, "due_date"?, "status"?, "order"?}, for the owner and members of an
// active project. Without an order the task takes the next of the project's sequence
// (1, 2, 3, ...): after the tasks added without one.
func (p *Plugin) createTask(w http.ResponseWriter, r *http.Request) error {
	ctx, user := r.Context(), sdk.CallFrom(r.Context()).UserID
	if _, err := query(r); err != nil {
		return err
	}
	pid, err := pathID(r, "id", "project")
	if err != nil {
		return err
	}
	pr, err := p.workable(ctx, pid)
	if err != nil {
		return err
	}
	in, err := readTask(r, true)
	if err != nil {
		return err
	}
	if in.assignee != "" {
		if err := checkAssignee(pr, in.assignee); err != nil {
			return err
		}
	}
	counts, err := p.host.Counters().BatchGet(ctx, []string{taskCount(pid)})
	if err != nil {
		return err
	}
	if counts[taskCount(pid)] >= maxTasks {
		return conflict("too_many_tasks", fmt.Sprintf("a project has at most %d tasks", maxTasks))
	}
	if !in.has["order"] {
		if in.order, err = p.host.Counters().Add(ctx, taskOrder(pid), 1); err != nil {
			return err
		}
	}
	now := p.now().UTC()
	t := Task{ID: p.newID(), ProjectID: pid, Title: in.title, Description: in.description, Assignee: in.assignee,
		DueDate: in.dueDate, Status: in.status, Order: in.order, CreatedBy: user, CreatedAt: now, UpdatedAt: now}
	if t.Status == taskDone {
		t.DoneAt = &now
	}
	if t.Assignee != "" {
		if _, err := p.host.KV().Put(ctx, assignKey(t.Assignee, pid, t.ID), nil); err != nil {
			return err
		}
	}
	if _, err := p.create(ctx, taskKey(pid, t.ID), t); err != nil {
		return err
	}
	if _, err := p.host.Counters().Add(ctx, taskCount(pid), 1); err != nil {
		return err
	}
	if t.Status == taskDone {
		p.taskDone(ctx, pr, t)
	}
	return sdk.WriteJSON(w, http.StatusCreated, viewTask(t, p.today()))
}

// taskDone tells the feed and the subscribed plugins that a task is done.
func (p *Plugin) taskDone(ctx context.Context, pr Project, t Task) {
	p.announce(ctx, pr, "projects.task_done", "Task done: "+t.Title,
		map[string]any{"project_id": pr.ID, "task_id": t.ID, "title": t.Title, "assignee": t.Assignee})
}

// listTasks answers GET /projects/{id}/tasks in their order, optionally of one
// ?status= and one ?assignee= (a user id or "me"), a page at a time.
func (p *Plugin) listTasks(w http.ResponseWriter, r *http.Request) error {
	ctx, user := r.Context(), sdk.CallFrom(r.Context()).UserID
	q, err := query(r, "status", "assignee", "limit", "cursor")
	if err != nil {
		return err
	}
	limit, cursor, err := page(q)
	if err != nil {
		return err
	}
	status, assignee := q["status"], q["assignee"]
	if status != "" && status != taskTodo && status != taskDoing && status != taskDone {
		return invalid(`status must be "todo", "doing" or "done"`)
	}
	if assignee == "me" {
		assignee = user
	} else if _, given := q["assignee"]; given && !validID(assignee) {
		return invalid(`assignee must be a user id or "me"`)
	}
	var afterOrder int64
	var afterID string
	if cursor != "" {
		o, id, ok := strings.Cut(cursor, "|")
		n, err := strconv.ParseInt(o, 10, 64)
		if !ok || err != nil || !validID(id) {
			return invalid("cursor is not one this list gave")
		}
		afterOrder, afterID = n, id
	}
	pid, err := pathID(r, "id", "project")
	if err != nil {
		return err
	}
	if _, _, err := p.readable(ctx, pid); err != nil {
		return err
	}
	all, err := p.tasks(ctx, pid)
	if err != nil {
		return err
	}
	all = slices.DeleteFunc(all, func(t Task) bool {
		return (status != "" && t.Status != status) || (assignee != "" && t.Assignee != assignee) ||
			(cursor != "" && cmp.Or(cmp.Compare(t.Order, afterOrder), strings.Compare(t.ID, afterID)) <= 0)
	})
	slices.SortFunc(all, func(a, b Task) int { return cmp.Or(cmp.Compare(a.Order, b.Order), strings.Compare(a.ID, b.ID)) })
	next := ""
	if len(all) > limit {
		all = all[:limit]
		next = strconv.FormatInt(all[limit-1].Order, 10) + "|" + all[limit-1].ID
	}
	today := p.today()
	out := make([]taskView, len(all))
	for i, t := range all {
		out[i] = viewTask(t, today)
	}
	return sdk.WriteJSON(w, http.StatusOK, newList(out, next))
}

// getTask answers GET /projects/{id}/tasks/{task_id} for anyone who may read the
// project.
func (p *Plugin) getTask(w http.ResponseWriter, r *http.Request) error {
	if _, err := query(r); err != nil {
		return err
	}
	pid, err := pathID(r, "id", "project")
	if err != nil {
		return err
	}
	if _, _, err := p.readable(r.Context(), pid); err != nil {
		return err
	}
	tid, err := pathID(r, "task_id", "task")
	if err != nil {
		return err
	}
	t, _, err := p.task(r.Context(), pid, tid)
	if err != nil {
		return err
	}
	return sdk.WriteJSON(w, http.StatusOK, viewTask(t, p.today()))
}

// patchTask changes a task: PATCH /projects/{id}/tasks/{task_id} with any of the
// fields of createTask, for the owner and members of an active project. Finishing a
// task ("status": "done") is announced in the feed.
func (p *Plugin) patchTask(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if _, err := query(r); err != nil {
		return err
	}
	pid, err := pathID(r, "id", "project")
	if err != nil {
		return err
	}
	pr, err := p.workable(ctx, pid)
	if err != nil {
		return err
	}
	tid, err := pathID(r, "task_id", "task")
	if err != nil {
		return err
	}
	in, err := readTask(r, false)
	if err != nil {
		return err
	}
	if in.assignee != "" {
		if err := checkAssignee(pr, in.assignee); err != nil {
			return err
		}
	}
	if _, _, err := p.task(ctx, pid, tid); err != nil {
		return err
	}
	if in.assignee != "" {
		if _, err := p.host.KV().Put(ctx, assignKey(in.assignee, pid, tid), nil); err != nil {
			return err
		}
	}
	var before Task
	t, err := p.changeTask(ctx, pid, tid, func(t *Task) error {
		before = *t
		if len(in.has) == 0 {
			return errUnchanged
		}
		apply(t, in, p.now().UTC())
		return nil
	})
	if err != nil {
		return err
	}
	if before.Assignee != "" && before.Assignee != t.Assignee {
		if err := p.host.KV().Delete(ctx, assignKey(before.Assignee, pid, tid)); err != nil {
			return err
		}
	}
	if before.Status != taskDone && t.Status == taskDone {
		p.taskDone(ctx, pr, t)
	}
	return sdk.WriteJSON(w, http.StatusOK, viewTask(t, p.today()))
}

// apply sets the given fields of in on t; a task done now is done at now.
func apply(t *Task, in taskInput, now time.Time) {
	set := func(name string, dst *string, v string) {
		if in.has[name] {
			*dst = v
		}
	}
	set("title", &t.Title, in.title)
	set("description", &t.Description, in.description)
	set("assignee", &t.Assignee, in.assignee)
	set("due_date", &t.DueDate, in.dueDate)
	if in.has["order"] {
		t.Order = in.order
	}
	if in.has["status"] && in.status != t.Status {
		t.Status = in.status
		t.DoneAt = nil
		if t.Status == taskDone {
			t.DoneAt = &now
		}
	}
}

// deleteTask deletes a task: DELETE /projects/{id}/tasks/{task_id}, for the owner
// and members of an active project.
func (p *Plugin) deleteTask(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if _, err := query(r); err != nil {
		return err
	}
	pid, err := pathID(r, "id", "project")
	if err != nil {
		return err
	}
	if _, err := p.workable(ctx, pid); err != nil {
		return err
	}
	tid, err := pathID(r, "task_id", "task")
	if err != nil {
		return err
	}
	t, version, err := p.task(ctx, pid, tid)
	if err != nil {
		return err
	}
	if err := p.host.KV().CompareAndDelete(ctx, taskKey(pid, tid), version); errors.Is(err, sdk.ErrConflict) {
		return conflict("busy", "the task changed meanwhile; try again")
	} else if err != nil {
		return err
	}
	if t.Assignee != "" {
		if err := p.host.KV().Delete(ctx, assignKey(t.Assignee, pid, tid)); err != nil {
			return err
		}
	}
	if _, err := p.host.Counters().Add(ctx, taskCount(pid), -1); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
