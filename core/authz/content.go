package authz

import "github.com/pleinhq/plein/core/fault"

// CheckCreateItem allows adding an item of kind to a space: content create there, or
// create on "item-<kind>" (so a policy line such as "p, reader, space:*,
// item-question, create" lets readers ask questions without letting them post), and
// for news also news create (moderators, by default). Invisible spaces are NotFound.
func (a *Authorizer) CheckCreateItem(p *Principal, spaceID, kind string) error {
	err := a.RequireSpace(p, spaceID, "content", "create")
	if fault.Is(err, fault.Forbidden) && a.Can(p, Space(spaceID), "item-"+kind, "create") {
		err = nil
	}
	if err != nil {
		return err
	}
	if kind == "news" {
		return a.RequireSpace(p, spaceID, "news", "create")
	}
	return nil
}

// CheckEditContent allows changing or deleting an item or comment of authorID in a
// space: to its author and to those who moderate the space's content. The caller has
// checked the principal may read it.
func (a *Authorizer) CheckEditContent(p *Principal, spaceID, authorID string) error {
	if authorID != "" && authorID == p.UserID {
		return nil
	}
	if a.Can(p, Space(spaceID), "content", "moderate") {
		return nil
	}
	return fault.Forbiddenf("only its author or a moderator of the space may change this")
}
