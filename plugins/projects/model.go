package main

import (
	"slices"
	"time"
)

// Project roles, from most to least. A user who is no member but may read the
// project's item (a reader of its space) reads it as roleReader.
const (
	roleOwner  = "owner"
	roleMember = "member"
	roleViewer = "viewer"
	roleReader = "reader"
)

// Project and task statuses.
const (
	statusActive   = "active"
	statusArchived = "archived"

	taskTodo  = "todo"
	taskDoing = "doing"
	taskDone  = "done"
)

// Limits that keep a project's record and lists small enough to read whole.
const (
	maxMembers   = 200
	maxTasks     = 1000
	maxDocuments = 100
	maxName      = 200
	maxText      = 10000
	maxOrder     = 1_000_000_000
)

// Project is a project as stored: its item's id is its id.
type Project struct {
	ID          string     `json:"id"`
	SpaceID     string     `json:"space_id"` // "" outside spaces
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Owner       string     `json:"owner"`
	Status      string     `json:"status"`
	Members     []Member   `json:"members"` // the owner first, then in the order they joined
	CreatedBy   string     `json:"created_by"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	ArchivedAt  *time.Time `json:"archived_at"`
}

// Member is a project member and their role.
type Member struct {
	UserID  string    `json:"user_id"`
	Role    string    `json:"role"`
	AddedAt time.Time `json:"added_at"`
}

// member returns the user's membership, or nil.
func (p *Project) member(user string) *Member {
	i := slices.IndexFunc(p.Members, func(m Member) bool { return m.UserID == user })
	if i < 0 {
		return nil
	}
	return &p.Members[i]
}

// removeMember drops the user's membership, if any.
func (p *Project) removeMember(user string) {
	p.Members = slices.DeleteFunc(p.Members, func(m Member) bool { return m.UserID == user })
}

// grantees are the item restriction of a project outside spaces: its members.
func (p *Project) grantees() []string {
	if p.SpaceID != "" {
		return nil
	}
	g := make([]string, len(p.Members))
	for i, m := range p.Members {
		g[i] = "user:" + m.UserID
	}
	return g
}

// successor returns the member who takes over from a departing owner: the earliest
// member, else the earliest viewer; "" if nobody is left.
func (p *Project) successor(departing string) string {
	for _, role := range []string{roleMember, roleViewer} {
		for _, m := range p.Members {
			if m.Role == role && m.UserID != departing {
				return m.UserID
			}
		}
	}
	return ""
}

// Task is a task of a project, as stored.
type Task struct {
	ID          string     `json:"id"`
	ProjectID   string     `json:"project_id"`
	Title       string     `json:"title"`
	Description string     `json:"description"`
	Assignee    string     `json:"assignee"` // "" for nobody
	DueDate     string     `json:"due_date"` // YYYY-MM-DD, "" for none
	Status      string     `json:"status"`
	Order       int64      `json:"order"`
	CreatedBy   string     `json:"created_by"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	DoneAt      *time.Time `json:"done_at"`
}

// overdue reports whether the task is open past its due date, today being a
// YYYY-MM-DD date.
func (t Task) overdue(today string) bool {
	return t.Status != taskDone && t.DueDate != "" && t.DueDate < today
}

// Link is a document linked to a project.
type Link struct {
	ItemID   string    `json:"item_id"`
	LinkedBy string    `json:"linked_by"`
	LinkedAt time.Time `json:"linked_at"`
}

// Activity is an activity item the plugin registered for a project, kept so its
// restriction follows the members of a project outside spaces.
type Activity struct {
	ItemID string `json:"item_id"`
	Title  string `json:"title"`
	Body   string `json:"body"`
}

// ref is what an item is to the projects that name it: a linked document or an
// activity item.
type ref struct {
	Kind string `json:"kind"`
}

const (
	refDocument = "document"
	refActivity = "activity"
)
