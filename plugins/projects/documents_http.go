package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/pleinhq/plein/sdk"
)

// linkDocument links a document to a project: PUT
// /projects/{id}/documents/{item_id}, for the owner and members of an active project
// who may read the document (the host checks it before the request arrives; the
// plugin reads it as the user again). 201 with the link when new, else 200.
func (p *Plugin) linkDocument(w http.ResponseWriter, r *http.Request) error {
	ctx, user := r.Context(), sdk.CallFrom(r.Context()).UserID
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
	item, err := pathID(r, "item_id", "document")
	if err != nil {
		return err
	}
	doc, err := p.host.Items().Get(ctx, item)
	if errors.Is(err, sdk.ErrNotFound) {
		return notFound("document")
	} else if err != nil {
		return err
	}
	if doc.Kind != "document" || doc.Owner != "core" {
		return invalid("only documents can be linked, not a %s", doc.Kind)
	}
	view := func(status int, l Link) error {
		return sdk.WriteJSON(w, status, documentView{ItemID: item, Title: doc.Title, SpaceID: doc.SpaceID, LinkedBy: l.LinkedBy, LinkedAt: l.LinkedAt})
	}
	var l Link
	if _, err := p.get(ctx, docKey(pid, item), &l); err == nil {
		return view(http.StatusOK, l)
	} else if !errors.Is(err, sdk.ErrNotFound) {
		return err
	}
	linked, _, err := p.host.KV().List(ctx, docPrefix(pid), "", maxDocuments)
	if err != nil {
		return err
	}
	if len(linked) >= maxDocuments {
		return conflict("too_many_documents", fmt.Sprintf("a project links at most %d documents", maxDocuments))
	}
	// The index first: see the package comment.
	if err := p.put(ctx, refKey(item, pid), ref{Kind: refDocument}); err != nil {
		return err
	}
	l = Link{ItemID: item, LinkedBy: user, LinkedAt: p.now().UTC()}
	created, err := p.create(ctx, docKey(pid, item), l)
	if err != nil {
		return err
	}
	if !created { // linked meanwhile
		if _, err := p.get(ctx, docKey(pid, item), &l); err != nil {
			return err
		}
		return view(http.StatusOK, l)
	}
	return view(http.StatusCreated, l)
}

// unlinkDocument removes a document's link: DELETE
// /projects/{id}/documents/{document_id}, for the owner and members of an active
// project, also when they may no longer read it. 204, also when it was not linked.
func (p *Plugin) unlinkDocument(w http.ResponseWriter, r *http.Request) error {
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
	item, err := pathID(r, "document_id", "document")
	if err != nil {
		return err
	}
	if err := p.unlink(ctx, pid, item); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// unlink drops a link and then its index entry.
func (p *Plugin) unlink(ctx context.Context, pid, item string) error {
	if err := p.host.KV().Delete(ctx, docKey(pid, item)); err != nil {
		return err
	}
	return p.host.KV().Delete(ctx, refKey(item, pid))
}

// documents returns the project's linked documents that the acting user may read,
// asking the host as them.
func (p *Plugin) documents(ctx context.Context, pr Project) ([]documentView, error) {
	out := []documentView{}
	err := p.each(ctx, docPrefix(pr.ID), func(e sdk.Entry) error {
		var l Link
		if err := decode(e, &l); err != nil {
			return err
		}
		doc, err := p.host.Items().Get(ctx, l.ItemID)
		if errors.Is(err, sdk.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		out = append(out, documentView{ItemID: l.ItemID, Title: doc.Title, SpaceID: doc.SpaceID, LinkedBy: l.LinkedBy, LinkedAt: l.LinkedAt})
		return nil
	})
	return out, err
}
