package authz

import (
	"slices"

	"github.com/pleinhq/plein/core/fault"
)

// privileged roles can only be given or taken by those who may assign_privileged.
var privileged = []string{"admin", "manager"}

// CheckReadUser allows reading a user's record to the user and to those who may read users.
func (a *Authorizer) CheckReadUser(p *Principal, userID string) error {
	if p.UserID == userID || a.Can(p, Global, "users", "read") {
		return nil
	}
	return fault.Forbiddenf("you may not read other users")
}

// CheckAssignRoles allows changing a user's roles from before to after. Giving or
// taking admin or manager needs assign_privileged, which managers do not have.
func (a *Authorizer) CheckAssignRoles(p *Principal, before, after []string) error {
	if err := a.Require(p, Global, "roles", "assign"); err != nil {
		return err
	}
	for _, r := range privileged {
		if slices.Contains(before, r) != slices.Contains(after, r) {
			if !a.Can(p, Global, "roles", "assign_privileged") {
				return fault.Forbiddenf("only admins give or take the %s role", r)
			}
		}
	}
	return nil
}

// CheckSetMember allows giving userID the role in the space: to those who manage its
// members, and to a reader of the space joining it themselves as a member (as in an
// open space). Unknown or invisible spaces are NotFound faults.
func (a *Authorizer) CheckSetMember(p *Principal, spaceID, userID, role string) error {
	if err := a.RequireSpace(p, spaceID, "space", "view"); err != nil {
		return err
	}
	if a.Can(p, Space(spaceID), "members", "manage") {
		return nil
	}
	if userID == p.UserID && role == "member" && p.SpaceRole(spaceID) == "" && a.Can(p, Space(spaceID), "content", "read") {
		return nil
	}
	return fault.Forbiddenf("you may not manage this space's members")
}

// CheckRemoveMember allows ending userID's membership: to those who manage the space's
// members, and to the member themselves (leaving).
func (a *Authorizer) CheckRemoveMember(p *Principal, spaceID, userID string) error {
	if err := a.RequireSpace(p, spaceID, "space", "view"); err != nil {
		return err
	}
	if userID == p.UserID || a.Can(p, Space(spaceID), "members", "manage") {
		return nil
	}
	return fault.Forbiddenf("you may not manage this space's members")
}
