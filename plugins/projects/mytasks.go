package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/pleinhq/plein/sdk"
)

// myTask is a task assigned to the acting user, with where it sorts.
type myTask struct {
	task    Task
	project string
	key     string
}

// myTasks answers GET /tasks?assignee=me: the tasks assigned to the acting user in
// the projects they are a member of, overdue first (the longest overdue first), then
// the other open tasks by due date (those without one last), then the done ones;
// optionally of one ?status=, a page at a time.
func (p *Plugin) myTasks(w http.ResponseWriter, r *http.Request) error {
	ctx, user := r.Context(), sdk.CallFrom(r.Context()).UserID
	q, err := query(r, "assignee", "status", "limit", "cursor")
	if err != nil {
		return err
	}
	if v, ok := q["assignee"]; ok && v != "me" {
		return invalid(`assignee must be "me"`)
	}
	status := q["status"]
	if status != "" && status != taskTodo && status != taskDoing && status != taskDone {
		return invalid(`status must be "todo", "doing" or "done"`)
	}
	limit, cursor, err := page(q)
	if err != nil {
		return err
	}
	all, err := p.assigned(ctx, user)
	if err != nil {
		return err
	}
	all = slices.DeleteFunc(all, func(t myTask) bool {
		return (status != "" && t.task.Status != status) || (cursor != "" && t.key <= cursor)
	})
	slices.SortFunc(all, func(a, b myTask) int { return strings.Compare(a.key, b.key) })
	next := ""
	if len(all) > limit {
		all = all[:limit]
		next = all[limit-1].key
	}
	today := p.today()
	out := make([]taskView, len(all))
	for i, t := range all {
		out[i] = viewTask(t.task, today)
		out[i].ProjectName = t.project
	}
	return sdk.WriteJSON(w, http.StatusOK, newList(out, next))
}

// assigned returns the tasks assigned to the user in projects they are a member of,
// each with its sort key: overdue (0), open (1) or done (2), the due date, the
// project and the task.
func (p *Plugin) assigned(ctx context.Context, user string) ([]myTask, error) {
	var keys []string
	pids := map[string]bool{}
	err := p.each(ctx, assignPrefix(user), func(e sdk.Entry) error {
		rest := strings.Split(strings.TrimPrefix(e.Key, assignPrefix(user)), "/")
		if len(rest) != 2 {
			return nil
		}
		pid, err := url.PathUnescape(rest[0])
		if err != nil {
			return err
		}
		tid, err := url.PathUnescape(rest[1])
		if err != nil {
			return err
		}
		pids[pid] = true
		keys = append(keys, taskKey(pid, tid))
		return nil
	})
	if err != nil {
		return nil, err
	}
	projects := map[string]Project{}
	pkeys := make([]string, 0, len(pids))
	for pid := range pids {
		pkeys = append(pkeys, projectKey(pid))
	}
	if err := p.batch(ctx, pkeys, func(e sdk.Entry) error {
		var pr Project
		if err := json.Unmarshal(e.Value, &pr); err != nil {
			return err
		}
		if pr.member(user) != nil {
			projects[pr.ID] = pr
		}
		return nil
	}); err != nil {
		return nil, err
	}
	today := p.today()
	var out []myTask
	err = p.batch(ctx, keys, func(e sdk.Entry) error {
		var t Task
		if err := decode(e, &t); err != nil {
			return err
		}
		pr, member := projects[t.ProjectID]
		if !member || t.Assignee != user { // an index entry left by a change in flight
			return nil
		}
		group, due := "1", t.DueDate
		switch {
		case t.overdue(today):
			group = "0"
		case t.Status == taskDone:
			group = "2"
		}
		if due == "" {
			due = "9999-99-99"
		}
		out = append(out, myTask{task: t, project: pr.Name, key: group + "|" + due + "|" + t.ProjectID + "|" + t.ID})
		return nil
	})
	return out, err
}

// batch calls fn with the entries of the keys that exist, reading them in batches.
func (p *Plugin) batch(ctx context.Context, keys []string, fn func(sdk.Entry) error) error {
	for chunk := range slices.Chunk(keys, sdk.MaxBatch) {
		found, err := p.host.KV().BatchGet(ctx, chunk)
		if err != nil {
			return err
		}
		for _, k := range chunk {
			if e, ok := found[k]; ok {
				if err := fn(e); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
