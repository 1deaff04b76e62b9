package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/pleinhq/plein/sdk"
	"github.com/pleinhq/plein/sdk/download"
)

// getNode answers a folder's or file's metadata to its owner and its grantees.
func (p *Plugin) getNode(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		call, ok := caller(w, r)
		if !ok {
			return
		}
		n, err := p.readable(r.Context(), call, kind, r.PathValue("id"))
		if err != nil {
			p.fail(w, r, err)
			return
		}
		_ = sdk.WriteJSON(w, http.StatusOK, viewOf(n, call.UserID))
	}
}

// patchRequest renames or moves a node: absent fields stay, a null parent_id is the
// root.
type patchRequest struct {
	Name     *string         `json:"name"`
	ParentID json.RawMessage `json:"parent_id"`
}

// patchNode renames or moves one of the caller's folders or files.
func (p *Plugin) patchNode(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		call, ok := caller(w, r)
		if !ok {
			return
		}
		ctx := r.Context()
		n, err := p.ownedNode(ctx, call, kind, r.PathValue("id"))
		if err != nil {
			p.fail(w, r, err)
			return
		}
		var req patchRequest
		if !readJSON(w, r, &req) {
			return
		}
		name, parent := n.Name, n.Parent
		if req.Name != nil {
			var why string
			if name, why = validName(*req.Name); why != "" {
				invalid(w, why)
				return
			}
			if kind == kindFile {
				name = download.SafeFilename(name)
			}
		}
		if len(req.ParentID) > 0 {
			var id *string
			if err := json.Unmarshal(req.ParentID, &id); err != nil {
				invalid(w, "parent_id: a folder id, or null for the root")
				return
			}
			parent = ""
			if id != nil {
				parent = *id
			}
		}
		if parent != n.Parent {
			if problem := p.checkMove(ctx, n, parent); problem != nil {
				problem(w, r)
				return
			}
		}
		if name != n.Name || parent != n.Parent {
			err = p.rename(ctx, &n, parent, name)
		}
		switch {
		case errors.Is(err, errNameTaken):
			nameTaken(w)
		case errors.Is(err, errNoNode):
			notFound(w, "parent folder")
		case err != nil:
			p.fail(w, r, err)
		default:
			_ = sdk.WriteJSON(w, http.StatusOK, viewOf(n, call.UserID))
		}
	}
}

// checkMove checks n may move into parent ("" for the root): one of the owner's
// folders, not n itself or a folder inside it, and not so deep that folders would
// nest more than maxDepth. It returns the answer to give if not.
func (p *Plugin) checkMove(ctx context.Context, n node, parent string) func(http.ResponseWriter, *http.Request) {
	folders, err := p.folders(ctx, n.Owner)
	if err != nil {
		return func(w http.ResponseWriter, r *http.Request) { p.fail(w, r, err) }
	}
	if _, ok := folders[parent]; parent != "" && !ok {
		return func(w http.ResponseWriter, _ *http.Request) { notFound(w, "parent folder") }
	}
	if n.Kind != kindFolder {
		return nil
	}
	if within(folders, parent, n.ID) {
		return func(w http.ResponseWriter, _ *http.Request) { invalid(w, "a folder cannot move into itself") }
	}
	if depth(folders, parent)+height(folders, n.ID) > maxDepth {
		return func(w http.ResponseWriter, _ *http.Request) { invalid(w, "folders nest at most 32 deep") }
	}
	return nil
}

// rename gives n a new name and parent: it claims the new name, writes the node if
// nobody changed it meanwhile (sdk.ErrConflict otherwise) and releases the old name.
// errNameTaken if the name is taken there, errNoNode if parent went away meanwhile.
func (p *Plugin) rename(ctx context.Context, n *node, parent, name string) error {
	old := *n
	moved := childKey(n.Owner, parent, name) != childKey(n.Owner, old.Parent, old.Name)
	if moved {
		if err := p.claimName(ctx, n.Owner, parent, name, n.ID); err != nil {
			return err
		}
	}
	n.Name, n.Parent, n.UpdatedAt = name, parent, p.now().UTC()
	if err := p.save(ctx, n); err != nil {
		if moved {
			_ = p.releaseName(context.WithoutCancel(ctx), n.Owner, parent, name, n.ID)
		}
		return err
	}
	if moved {
		if err := p.releaseName(ctx, old.Owner, old.Parent, old.Name, old.ID); err != nil {
			return err
		}
	}
	return p.stillThere(ctx, *n)
}

// deleteNode deletes one of the caller's files, or folders with everything in them.
func (p *Plugin) deleteNode(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		call, ok := caller(w, r)
		if !ok {
			return
		}
		n, err := p.ownedNode(r.Context(), call, kind, r.PathValue("id"))
		if err == nil {
			err = p.remove(r.Context(), n)
		}
		if err != nil {
			p.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// remove deletes a node, a folder with everything in it, its shares and a file's
// bytes, and gives back its quota. Whoever deletes the node's record settles the
// counters, so removing twice at once counts once; a node already gone is not an
// error.
func (p *Plugin) remove(ctx context.Context, n node) error {
	if n.Kind == kindFolder {
		prefix := childPrefix(n.Owner, n.ID)
		entries, err := p.listAll(ctx, prefix)
		if err != nil {
			return err
		}
		children, err := p.loadMany(ctx, claimedIDs(entries))
		if err != nil {
			return err
		}
		for _, c := range children {
			if c.Parent != n.ID || c.Owner != n.Owner {
				continue
			}
			if err := p.remove(ctx, c); err != nil {
				return err
			}
		}
	}
	kv := p.host.KV()
	for attempt := 0; ; attempt++ {
		err := kv.CompareAndDelete(ctx, nodeKey(n.ID), n.version)
		if err == nil {
			break
		}
		if !errors.Is(err, sdk.ErrConflict) || attempt == 3 {
			return err
		}
		if n, err = p.load(ctx, n.ID); errors.Is(err, errNoNode) {
			return nil // someone else removed it
		} else if err != nil {
			return err
		}
	}
	if err := p.releaseName(ctx, n.Owner, n.Parent, n.Name, n.ID); err != nil {
		return err
	}
	if err := p.unshare(ctx, n.ID); err != nil {
		return err
	}
	if err := kv.Delete(ctx, indexKey(n.Kind, n.Owner, n.ID)); err != nil {
		return err
	}
	if n.Kind == kindFolder {
		_, err := p.host.Counters().Add(ctx, foldersCounter(n.Owner), -1)
		return err
	}
	if err := p.host.Blobs().Delete(ctx, n.Blob); err != nil {
		return err
	}
	_, err := p.host.Counters().Add(ctx, usedCounter(n.Owner), -n.Size)
	return err
}
