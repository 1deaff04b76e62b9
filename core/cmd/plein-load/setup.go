package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// manifest is what plein seed scale --manifest writes.
type manifest struct {
	Users  []string `json:"users"`
	Spaces map[string]struct {
		Items     []string `json:"items"`
		Documents []string `json:"documents"`
	} `json:"spaces"`
	known map[string]bool // every id above
}

func readManifest(path string) (*manifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", path, err)
	}
	m.known = map[string]bool{}
	for _, c := range m.Spaces {
		for _, id := range append(c.Items, c.Documents...) {
			m.known[id] = true
		}
	}
	return &m, nil
}

// demoLogins are the demo's sample logins, used without a manifest.
var demoLogins = []string{"employee", "secretary", "helpdesk", "project", "external", "manager"}

// user is a logged-in user and what they may do.
type user struct {
	email, token string
	writable     []string // spaces they may post in
	reads        *reach
}

// reach is what a group of users with the same roles and memberships may read.
type reach struct {
	items, documents ids
}

// ids is a list of ids kept as the slices it was made of, so that groups of users who
// read the same spaces share the manifest's long lists instead of copying them.
type ids struct {
	chunks [][]string
	ends   []int // ends[i]: how many ids chunks[:i+1] hold
}

func (l *ids) add(chunk []string) {
	if len(chunk) > 0 {
		l.chunks, l.ends = append(l.chunks, chunk), append(l.ends, l.len()+len(chunk))
	}
}

func (l *ids) len() int {
	if len(l.ends) == 0 {
		return 0
	}
	return l.ends[len(l.ends)-1]
}

// at returns the i-th id, 0 <= i < len().
func (l *ids) at(i int) string {
	c := sort.SearchInts(l.ends, i+1)
	start := 0
	if c > 0 {
		start = l.ends[c-1]
	}
	return l.chunks[c][i-start]
}

// api is an HTTP client of the server.
type api struct {
	base   string
	client *http.Client
}

func newAPI(base string, clients int) *api {
	return &api{base: base, client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConnsPerHost: clients, MaxIdleConns: clients, IdleConnTimeout: time.Minute, DisableCompression: true,
	}}}
}

// do sends a request with a JSON body (nil: none) and returns the status and the body.
func (a *api) do(ctx context.Context, method, path, token string, body any) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, r)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// getJSON GETs path and decodes a 200 answer into v.
func (a *api) getJSON(ctx context.Context, path, token string, v any) (int, error) {
	code, body, err := a.do(ctx, "GET", path, token, nil)
	if err != nil {
		return 0, fmt.Errorf("GET %s: %w", path, err)
	}
	if code != http.StatusOK {
		return code, nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return code, fmt.Errorf("GET %s: %w", path, err)
	}
	return code, nil
}

// loginConcurrency stays within the server's password hashing slots (two on a
// two-core machine), so logins queue here rather than time out there.
const loginConcurrency = 2

// login signs in each email and returns the users with their tokens.
func (a *api) login(ctx context.Context, emails []string, password string) ([]*user, error) {
	users := make([]*user, len(emails))
	errs := make([]error, len(emails))
	sem := make(chan struct{}, loginConcurrency)
	var wg sync.WaitGroup
	for i, email := range emails {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			code, body, err := a.do(ctx, "POST", "/api/v1/auth/login", "", map[string]string{"email": email, "password": password})
			var s struct{ Token string }
			switch {
			case err != nil:
				errs[i] = fmt.Errorf("login %s: %w", email, err)
			case code != http.StatusOK:
				errs[i] = fmt.Errorf("login %s: %d %s (is the demo seeded? make run does it)", email, code, clip(body))
			case json.Unmarshal(body, &s) != nil || s.Token == "":
				errs[i] = fmt.Errorf("login %s: no token in %s", email, clip(body))
			default:
				users[i] = &user{email: email, token: s.Token}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return users, nil
}

// discover finds, for every user, the spaces they may post in and the items and
// documents they may read: the server says which spaces each distinct set of roles
// and memberships reads (a feed filtered by the space answers 200), the first page
// of each such feed gives items, and the manifest adds the seeded ones.
func (a *api) discover(ctx context.Context, users []*user, m *manifest) error {
	reaches := map[string]*reach{}
	for _, u := range users {
		var me struct {
			Roles  []string `json:"roles"`
			Spaces []struct {
				ID   string `json:"id"`
				Role string `json:"role"`
			} `json:"spaces"`
		}
		if code, err := a.getJSON(ctx, "/api/v1/me", u.token, &me); err != nil || code != 200 {
			return fmt.Errorf("GET /api/v1/me as %s: %d %v", u.email, code, err)
		}
		slices.Sort(me.Roles)
		key := strings.Join(me.Roles, ",")
		for _, s := range me.Spaces {
			key += ";" + s.ID + "=" + s.Role
			if s.Role == "member" || s.Role == "moderator" || s.Role == "owner" {
				u.writable = append(u.writable, s.ID)
			}
		}
		if r := reaches[key]; r != nil {
			u.reads = r
			continue
		}
		r, err := a.reach(ctx, u, m)
		if err != nil {
			return err
		}
		reaches[key], u.reads = r, r
	}
	return nil
}

type feedPage struct {
	Items      []decorated `json:"items"`
	NextCursor *string     `json:"next_cursor"`
}

// decorated is an item as a client reads it: the fields plugins add are in features.
type decorated struct {
	ID       string                     `json:"id"`
	Kind     string                     `json:"kind"`
	Features map[string]json.RawMessage `json:"features"`
}

// decorators are the plugins whose fields every item should carry when they are on
// for everyone: the server leaves them out when it cannot read them in time.
var decorators = []string{"likes", "votes"}

// expectedFeatures returns the decorators the server has on for u.
func (a *api) expectedFeatures(ctx context.Context, u *user) ([]string, error) {
	var list struct {
		Items []struct {
			Name   string    `json:"name"`
			Spaces *[]string `json:"spaces"`
		} `json:"items"`
	}
	if code, err := a.getJSON(ctx, "/api/v1/features", u.token, &list); err != nil || code != 200 {
		return nil, fmt.Errorf("GET /api/v1/features as %s: %d %v", u.email, code, err)
	}
	var out []string
	for _, f := range list.Items {
		if slices.Contains(decorators, f.Name) && f.Spaces == nil {
			out = append(out, f.Name)
		}
	}
	return out, nil
}

func (a *api) reach(ctx context.Context, u *user, m *manifest) (*reach, error) {
	var spaces []string
	for cursor := ""; ; {
		var page struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
			NextCursor *string `json:"next_cursor"`
		}
		path := "/api/v1/spaces?limit=100"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		if code, err := a.getJSON(ctx, path, u.token, &page); err != nil || code != 200 {
			return nil, fmt.Errorf("GET %s as %s: %d %v", path, u.email, code, err)
		}
		for _, s := range page.Items {
			spaces = append(spaces, s.ID)
		}
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	r := &reach{}
	for _, id := range spaces {
		var page feedPage
		code, err := a.getJSON(ctx, "/api/v1/feed?limit=100&space="+url.QueryEscape(id), u.token, &page)
		if err != nil {
			return nil, err
		}
		if code != 200 {
			continue // visible, not readable: a members-only space
		}
		// The first page adds what the manifest does not hold: the demo's own
		// items, and what earlier runs posted.
		var items, docs []string
		for _, it := range page.Items {
			switch {
			case m != nil && m.known[it.ID]:
			case it.Kind == "document":
				docs = append(docs, it.ID)
			default:
				items = append(items, it.ID)
			}
		}
		r.items.add(items)
		r.documents.add(docs)
		if m != nil {
			r.items.add(m.Spaces[id].Items)
			r.documents.add(m.Spaces[id].Documents)
		}
	}
	return r, nil
}

// pickEmails chooses n logins: from the manifest spread evenly over its users (which
// cycle through departments), else the demo's sample logins.
func pickEmails(m *manifest, n int) []string {
	if m == nil || len(m.Users) == 0 {
		out := make([]string, 0, len(demoLogins))
		for _, l := range demoLogins[:min(n, len(demoLogins))] {
			out = append(out, l+"@demo.plein")
		}
		return out
	}
	n = min(n, len(m.Users))
	out := make([]string, n)
	for i := range n {
		out[i] = m.Users[i*len(m.Users)/n]
	}
	return out
}
