package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/pleinhq/plein/sdk"
)

// Storage, all in the plugin's KV namespace and counters. Node ids are 32 hex digits
// the plugin makes up; user ids and grantees are path-escaped.
//
//	n/<id>                     a node (folder or file), JSON
//	c/<owner>/<parent>/<name>  the node called <name> (lower-cased) in a folder ("-"
//	                           for the root): the id, which also keeps names unique
//	d/<owner>/<id>             the owner's folders, for the tree
//	f/<owner>/<id>             the owner's files, for search and removal
//	s/<id>                     the share of a node, JSON, expiring with it
//	g/<grantee>/<id>           a node shared with "user:<id>" or "role:<name>",
//	                           expiring with the share
//	x/<user>                   a deleted user whose folder waits for the sweep
//	counter used/<owner>       bytes stored
//	counter folders/<owner>    folders
const rootKey = "-"

// The kinds of node.
const (
	kindFolder = "folder"
	kindFile   = "file"
)

// maxDepth is how deep folders nest; it bounds the walk up to a node's shares.
const maxDepth = 32

// maxName is the most bytes a folder or file name has.
const maxName = 255

// node is a folder or a file as stored.
type node struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Owner     string    `json:"owner"`
	Parent    string    `json:"parent_id"` // "" for the root
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Files only.
	Size        int64  `json:"size,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	SHA256      string `json:"sha256,omitempty"`
	Blob        string `json:"blob,omitempty"`

	version int64 // of the KV entry, for CAS
}

func nodeKey(id string) string { return "n/" + id }

func parentKey(parent string) string {
	if parent == "" {
		return rootKey
	}
	return parent
}

func childPrefix(owner, parent string) string {
	return "c/" + url.PathEscape(owner) + "/" + parentKey(parent) + "/"
}

// childKey is where the name of a node in a folder is claimed: names are unique per
// folder, ignoring case.
func childKey(owner, parent, name string) string {
	return childPrefix(owner, parent) + strings.ToLower(name)
}

func indexPrefix(kind, owner string) string {
	if kind == kindFolder {
		return "d/" + url.PathEscape(owner) + "/"
	}
	return "f/" + url.PathEscape(owner) + "/"
}

func indexKey(kind, owner, id string) string { return indexPrefix(kind, owner) + id }
func usedCounter(owner string) string        { return "used/" + url.PathEscape(owner) }
func foldersCounter(owner string) string     { return "folders/" + url.PathEscape(owner) }

// newID returns a fresh node id.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails
	return hex.EncodeToString(b[:])
}

// validID reports whether s can be a node id, so a malformed one is answered without
// a host call.
func validID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// errNoNode is a node that does not exist.
var errNoNode = fmt.Errorf("no such node: %w", sdk.ErrNotFound)

// load reads a node; errNoNode if it is missing or malformed.
func (p *Plugin) load(ctx context.Context, id string) (node, error) {
	if !validID(id) {
		return node{}, errNoNode
	}
	e, err := p.host.KV().Get(ctx, nodeKey(id))
	if errors.Is(err, sdk.ErrNotFound) {
		return node{}, errNoNode
	}
	if err != nil {
		return node{}, err
	}
	var n node
	if err := json.Unmarshal(e.Value, &n); err != nil {
		return node{}, fmt.Errorf("node %s: %w", id, err)
	}
	n.version = e.Version
	return n, nil
}

// loadMany reads the nodes with ids, in batches, skipping those that are gone.
func (p *Plugin) loadMany(ctx context.Context, ids []string) (map[string]node, error) {
	out := make(map[string]node, len(ids))
	for start := 0; start < len(ids); start += sdk.MaxBatch {
		batch := ids[start:min(start+sdk.MaxBatch, len(ids))]
		keys := make([]string, len(batch))
		for i, id := range batch {
			keys[i] = nodeKey(id)
		}
		found, err := p.host.KV().BatchGet(ctx, keys)
		if err != nil {
			return nil, err
		}
		for i, id := range batch {
			e, ok := found[keys[i]]
			if !ok {
				continue
			}
			var n node
			if err := json.Unmarshal(e.Value, &n); err != nil {
				return nil, fmt.Errorf("node %s: %w", id, err)
			}
			n.version = e.Version
			out[id] = n
		}
	}
	return out, nil
}

// save writes n if it is still at n.version (0: it must not exist yet), returning
// sdk.ErrConflict if someone else wrote it first.
func (p *Plugin) save(ctx context.Context, n *node) error {
	data, err := json.Marshal(n)
	if err != nil {
		return err
	}
	v, err := p.host.KV().CAS(ctx, nodeKey(n.ID), data, n.version)
	if err != nil {
		return err
	}
	n.version = v
	return nil
}

// errNameTaken is a name another node in the folder holds.
var errNameTaken = fmt.Errorf("name taken: %w", sdk.ErrConflict)

// claimName takes a name in a folder for id. It returns errNameTaken if another node
// holds it; a claim left behind by a node that moved or is gone is taken over.
func (p *Plugin) claimName(ctx context.Context, owner, parent, name, id string) error {
	kv, key := p.host.KV(), childKey(owner, parent, name)
	for range 3 {
		_, err := kv.CAS(ctx, key, []byte(id), 0)
		if !errors.Is(err, sdk.ErrConflict) {
			return err
		}
		e, err := kv.Get(ctx, key)
		if errors.Is(err, sdk.ErrNotFound) {
			continue // released meanwhile
		}
		if err != nil {
			return err
		}
		holder := string(e.Value)
		if holder == id {
			return nil
		}
		n, err := p.load(ctx, holder)
		switch {
		case err == nil && n.Parent == parent && strings.EqualFold(n.Name, name):
			return fmt.Errorf("%q: %w", name, errNameTaken)
		case err != nil && !errors.Is(err, errNoNode):
			return err
		}
		if err := kv.CompareAndDelete(ctx, key, e.Version); err != nil && !errors.Is(err, sdk.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("%q: %w", name, errNameTaken)
}

// claimedIDs returns the ids name claims point at.
func claimedIDs(entries []sdk.Entry) []string {
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = string(e.Value)
	}
	return ids
}

// releaseName gives up id's claim on a name, leaving another node's claim alone.
func (p *Plugin) releaseName(ctx context.Context, owner, parent, name, id string) error {
	kv, key := p.host.KV(), childKey(owner, parent, name)
	e, err := kv.Get(ctx, key)
	if errors.Is(err, sdk.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if string(e.Value) != id {
		return nil
	}
	if err := kv.CompareAndDelete(ctx, key, e.Version); err != nil && !errors.Is(err, sdk.ErrConflict) {
		return err
	}
	return nil
}

// listAll returns every key with prefix, page after page.
func (p *Plugin) listAll(ctx context.Context, prefix string) ([]sdk.Entry, error) {
	var out []sdk.Entry
	for after := ""; ; {
		entries, next, err := p.host.KV().List(ctx, prefix, after, sdk.MaxListLimit)
		if err != nil {
			return nil, err
		}
		out = append(out, entries...)
		if next == "" {
			return out, nil
		}
		after = next
	}
}

// ownedIDs returns the ids of every folder or file of an owner.
func (p *Plugin) ownedIDs(ctx context.Context, kind, owner string) ([]string, error) {
	prefix := indexPrefix(kind, owner)
	entries, err := p.listAll(ctx, prefix)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(entries))
	for _, e := range entries {
		ids = append(ids, strings.TrimPrefix(e.Key, prefix))
	}
	return ids, nil
}

// folders returns every folder of an owner, by id.
func (p *Plugin) folders(ctx context.Context, owner string) (map[string]node, error) {
	ids, err := p.ownedIDs(ctx, kindFolder, owner)
	if err != nil {
		return nil, err
	}
	all, err := p.loadMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	for id, n := range all {
		if n.Owner != owner || n.Kind != kindFolder {
			delete(all, id)
		}
	}
	return all, nil
}

// depth returns how many folders hold a folder, from the owner's folders: 0 for the
// root (""), 1 for a folder in the root.
func depth(folders map[string]node, id string) int {
	d := 0
	for ; id != "" && d <= maxDepth; d++ {
		id = folders[id].Parent
	}
	return d
}

// height returns how many levels of folders a folder holds, itself included.
func height(folders map[string]node, id string) int {
	children := map[string][]string{}
	for _, f := range folders {
		children[f.Parent] = append(children[f.Parent], f.ID)
	}
	var levels func(id string, d int) int
	levels = func(id string, d int) int {
		h := 1
		if d > maxDepth { // a cycle, which moves never make
			return h
		}
		for _, c := range children[id] {
			h = max(h, 1+levels(c, d+1))
		}
		return h
	}
	return levels(id, 0)
}

// within reports whether folder id is folder ancestor or inside it.
func within(folders map[string]node, id, ancestor string) bool {
	for d := 0; id != "" && d <= maxDepth; d++ {
		if id == ancestor {
			return true
		}
		id = folders[id].Parent
	}
	return false
}
