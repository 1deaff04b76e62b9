package main

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pleinhq/plein/sdk"
)

// View is a folder or a file as the API answers it.
type View struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
	Name string `json:"name"`
	// ParentID is the folder holding it, null in the root.
	ParentID *string `json:"parent_id"`
	Owner    string  `json:"owner"`
	// Access is "owner", or "shared" for a grantee.
	Access    string    `json:"access"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Files only.
	Size        *int64 `json:"size,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	SHA256      string `json:"sha256,omitempty"`
}

// viewOf returns n as the user sees it.
func viewOf(n node, user string) View {
	v := View{ID: n.ID, Kind: n.Kind, Name: n.Name, Owner: n.Owner, Access: "shared", CreatedAt: n.CreatedAt, UpdatedAt: n.UpdatedAt}
	if n.Owner == user {
		v.Access = "owner"
	}
	if n.Parent != "" {
		v.ParentID = &n.Parent
	}
	if n.Kind == kindFile {
		v.Size, v.ContentType, v.SHA256 = &n.Size, n.ContentType, n.SHA256
	}
	return v
}

// Quota is a user's use of their quota, in bytes.
type Quota struct {
	Used  int64 `json:"used"`
	Limit int64 `json:"limit"`
}

// Tree is a folder and the folders in it.
type Tree struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Folders   []Tree    `json:"folders"`
}

// Me is GET /me: the caller's quota and their folder tree. Files are listed per
// folder (GET /me/items, GET /folders/{id}/items).
type Me struct {
	UserID  string `json:"user_id"`
	Quota   Quota  `json:"quota"`
	Folders []Tree `json:"folders"`
}

func (p *Plugin) getMe(w http.ResponseWriter, r *http.Request) {
	call, ok := caller(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	used, err := p.used(ctx, call.UserID)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	folders, err := p.folders(ctx, call.UserID)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	children := map[string][]node{}
	for _, f := range folders {
		children[f.Parent] = append(children[f.Parent], f)
	}
	var grow func(parent string, d int) []Tree
	grow = func(parent string, d int) []Tree {
		out := []Tree{}
		if d > maxDepth {
			return out
		}
		kids := children[parent]
		slices.SortFunc(kids, func(a, b node) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
		for _, f := range kids {
			out = append(out, Tree{ID: f.ID, Name: f.Name, CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt, Folders: grow(f.ID, d+1)})
		}
		return out
	}
	_ = sdk.WriteJSON(w, http.StatusOK, Me{
		UserID: call.UserID, Quota: Quota{Used: used, Limit: p.settings.quotaOf(call.UserID)}, Folders: grow("", 0),
	})
}

// used returns the bytes a user stores.
func (p *Plugin) used(ctx context.Context, user string) (int64, error) {
	counts, err := p.host.Counters().BatchGet(ctx, []string{usedCounter(user)})
	if err != nil {
		return 0, err
	}
	return counts[usedCounter(user)], nil
}

// listRoot answers what is in the root of the caller's folder, a page at a time.
func (p *Plugin) listRoot(w http.ResponseWriter, r *http.Request) {
	call, ok := caller(w, r, "limit", "cursor")
	if !ok {
		return
	}
	p.listChildren(w, r, call, call.UserID, "")
}

// listFolder answers what is in a folder the caller may read, a page at a time.
func (p *Plugin) listFolder(w http.ResponseWriter, r *http.Request) {
	call, ok := caller(w, r, "limit", "cursor")
	if !ok {
		return
	}
	f, err := p.readable(r.Context(), call, kindFolder, r.PathValue("id"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.listChildren(w, r, call, f.Owner, f.ID)
}

// listChildren answers the folders and files in a folder ("" for the owner's root)
// in name order.
func (p *Plugin) listChildren(w http.ResponseWriter, r *http.Request, call sdk.Call, owner, parent string) {
	pg, ok := pageOf(w, r)
	if !ok {
		return
	}
	ctx, prefix := r.Context(), childPrefix(owner, parent)
	after := ""
	if pg.cursor != "" {
		after = prefix + pg.cursor
	}
	entries, next, err := p.host.KV().List(ctx, prefix, after, pg.limit)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	nodes, err := p.loadMany(ctx, claimedIDs(entries))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	items := make([]View, 0, len(entries))
	for _, e := range entries {
		// A claim whose node moved, was renamed or is gone lists nothing.
		if n, ok := nodes[string(e.Value)]; ok && n.Owner == owner && n.Parent == parent && childKey(owner, parent, n.Name) == e.Key {
			items = append(items, viewOf(n, call.UserID))
		}
	}
	last := ""
	if len(entries) > 0 {
		last = strings.TrimPrefix(entries[len(entries)-1].Key, prefix)
	}
	_ = sdk.WriteJSON(w, http.StatusOK, newList(items, next != "", last))
}

// folderRequest is POST /folders.
type folderRequest struct {
	Name     string `json:"name"`
	ParentID string `json:"parent_id"`
}

func (p *Plugin) createFolder(w http.ResponseWriter, r *http.Request) {
	call, ok := caller(w, r)
	if !ok {
		return
	}
	var req folderRequest
	if !readJSON(w, r, &req) {
		return
	}
	name, why := validName(req.Name)
	if why != "" {
		invalid(w, why)
		return
	}
	ctx := r.Context()
	if req.ParentID != "" {
		folders, err := p.folders(ctx, call.UserID)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		if _, ok := folders[req.ParentID]; !ok {
			notFound(w, "parent folder")
			return
		}
		if depth(folders, req.ParentID) >= maxDepth {
			invalid(w, "folders nest at most 32 deep")
			return
		}
	}
	n, err := p.addFolder(ctx, call.UserID, req.ParentID, name)
	switch {
	case errors.Is(err, errTooManyFolders):
		_ = sdk.WriteProblem(w, http.StatusConflict, "folder_limit", "at most "+strconv.Itoa(p.settings.maxFolders)+" folders per user")
	case errors.Is(err, errNameTaken):
		nameTaken(w)
	case errors.Is(err, errNoNode):
		notFound(w, "parent folder")
	case err != nil:
		p.fail(w, r, err)
	default:
		_ = sdk.WriteJSON(w, http.StatusCreated, viewOf(n, call.UserID))
	}
}

// errTooManyFolders is a folder over the owner's max_folders.
var errTooManyFolders = errors.New("folder limit reached")

// addFolder creates a folder of owner's in parent, counting it against max_folders.
// It returns sdk.ErrConflict if the name is taken, and errNoNode if parent was
// deleted meanwhile.
func (p *Plugin) addFolder(ctx context.Context, owner, parent, name string) (node, error) {
	counter := p.host.Counters()
	count, err := counter.Add(ctx, foldersCounter(owner), 1)
	if err != nil {
		return node{}, err
	}
	done := false
	defer func() {
		if !done {
			_, _ = counter.Add(context.WithoutCancel(ctx), foldersCounter(owner), -1)
		}
	}()
	if count > int64(p.settings.maxFolders) {
		return node{}, errTooManyFolders
	}
	now := p.now().UTC()
	n := node{ID: newID(), Kind: kindFolder, Owner: owner, Parent: parent, Name: name, CreatedAt: now, UpdatedAt: now}
	if err := p.claimName(ctx, owner, parent, name, n.ID); err != nil {
		return node{}, err
	}
	// The index first: a node always has its entry; an entry without a node is skipped.
	_, err = p.host.KV().Put(ctx, indexKey(kindFolder, owner, n.ID), nil)
	if err == nil {
		err = p.save(ctx, &n)
	}
	if err != nil {
		bg := context.WithoutCancel(ctx)
		_ = p.host.KV().Delete(bg, indexKey(kindFolder, owner, n.ID))
		_ = p.releaseName(bg, owner, parent, name, n.ID)
		return node{}, err
	}
	done = true
	if err := p.stillThere(ctx, n); err != nil {
		return node{}, err
	}
	return n, nil
}

// stillThere undoes a node just created in a folder that was deleted meanwhile, and
// then returns errNoNode.
func (p *Plugin) stillThere(ctx context.Context, n node) error {
	if n.Parent == "" {
		return nil
	}
	_, err := p.load(ctx, n.Parent)
	if !errors.Is(err, errNoNode) {
		return err
	}
	if err := p.remove(context.WithoutCancel(ctx), n); err != nil {
		return err
	}
	return errNoNode
}
