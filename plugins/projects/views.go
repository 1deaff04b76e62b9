package main

import "time"

// projectView is a project as answered.
type projectView struct {
	ID          string     `json:"id"`
	SpaceID     *string    `json:"space_id"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Owner       string     `json:"owner"`
	Status      string     `json:"status"`
	Members     []Member   `json:"members"`
	MyRole      string     `json:"my_role"`
	CreatedBy   string     `json:"created_by"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	ArchivedAt  *time.Time `json:"archived_at"`
}

func viewProject(pr Project, role string) projectView {
	v := projectView{
		ID: pr.ID, Name: pr.Name, Description: pr.Description, Owner: pr.Owner, Status: pr.Status,
		Members: pr.Members, MyRole: role, CreatedBy: pr.CreatedBy, CreatedAt: pr.CreatedAt, UpdatedAt: pr.UpdatedAt,
		ArchivedAt: pr.ArchivedAt,
	}
	if v.Members == nil {
		v.Members = []Member{}
	}
	if pr.SpaceID != "" {
		v.SpaceID = &pr.SpaceID
	}
	return v
}

// documentView is a linked document as its project's page lists it.
type documentView struct {
	ItemID   string    `json:"item_id"`
	Title    string    `json:"title"`
	SpaceID  string    `json:"space_id"`
	LinkedBy string    `json:"linked_by"`
	LinkedAt time.Time `json:"linked_at"`
}

// taskView is a task as answered.
type taskView struct {
	ID          string     `json:"id"`
	ProjectID   string     `json:"project_id"`
	ProjectName string     `json:"project_name,omitempty"` // in GET /tasks
	Title       string     `json:"title"`
	Description string     `json:"description"`
	Assignee    *string    `json:"assignee"`
	DueDate     *string    `json:"due_date"`
	Overdue     bool       `json:"overdue"`
	Status      string     `json:"status"`
	Order       int64      `json:"order"`
	CreatedBy   string     `json:"created_by"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	DoneAt      *time.Time `json:"done_at"`
}

func viewTask(t Task, today string) taskView {
	v := taskView{
		ID: t.ID, ProjectID: t.ProjectID, Title: t.Title, Description: t.Description, Overdue: t.overdue(today),
		Status: t.Status, Order: t.Order, CreatedBy: t.CreatedBy, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt, DoneAt: t.DoneAt,
	}
	if t.Assignee != "" {
		v.Assignee = &t.Assignee
	}
	if t.DueDate != "" {
		v.DueDate = &t.DueDate
	}
	return v
}

// today is the current date in UTC, as due dates are written.
func (p *Plugin) today() string {
	return p.now().UTC().Format(time.DateOnly)
}
