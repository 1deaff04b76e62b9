package authz

import (
	"context"
	"encoding/csv"
	"fmt"
	"slices"
	"strings"

	"github.com/casbin/casbin/v2/model"

	"github.com/pleinhq/plein/core/changes"
	"github.com/pleinhq/plein/core/fault"
	"github.com/pleinhq/plein/policies"
)

// Permission is one policy line: holders of Role may do Action on Object in Domain.
type Permission struct {
	Role   string `json:"role"`
	Domain string `json:"domain"`
	Object string `json:"object"`
	Action string `json:"action"`
}

// Inheritance is one role inheritance line: holders of Role hold Inherits too.
type Inheritance struct {
	Role     string `json:"role"`
	Inherits string `json:"inherits"`
}

// PolicyLines is the whole policy.
type PolicyLines struct {
	Permissions []Permission  `json:"permissions"`
	Inheritance []Inheritance `json:"inheritance"`
}

// The line every policy keeps, so no edit can lock admins out.
var adminLine = Permission{Role: "admin", Domain: "*", Object: "*", Action: "*"}

// ParsePolicyCSV reads policy lines in Casbin's CSV format ("p, role, dom, obj, act" and
// "g, role, inherits"); blank lines and # comments are skipped.
func ParsePolicyCSV(text string) (PolicyLines, error) {
	var pl PolicyLines
	r := csv.NewReader(strings.NewReader(text))
	r.Comment = '#'
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	records, err := r.ReadAll()
	if err != nil {
		return pl, err
	}
	for _, rec := range records {
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		switch {
		case rec[0] == "p" && len(rec) == 5:
			pl.Permissions = append(pl.Permissions, Permission{rec[1], rec[2], rec[3], rec[4]})
		case rec[0] == "g" && len(rec) == 3:
			pl.Inheritance = append(pl.Inheritance, Inheritance{rec[1], rec[2]})
		default:
			return pl, fmt.Errorf("bad policy line %q", strings.Join(rec, ", "))
		}
	}
	return pl, nil
}

func validToken(s string, wildcard bool) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	if wildcard && s == "*" {
		return true
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Validate checks every line and returns an Invalid fault naming the first bad one.
// Domains are limited to "*", "global" and "space:*": the readable-space computation
// relies on no policy naming a single space. The admin line must stay.
func (pl PolicyLines) Validate() error {
	if len(pl.Permissions) > 1000 || len(pl.Inheritance) > 1000 {
		return fault.Invalidf("permissions", "at most 1000 lines of each kind")
	}
	for i, p := range pl.Permissions {
		field := fmt.Sprintf("permissions[%d]", i)
		switch {
		case !validToken(p.Role, false):
			return fault.Invalidf(field, "role %q is not a role name", p.Role)
		case p.Domain != "*" && p.Domain != Global && p.Domain != spacePrefix+"*":
			return fault.Invalidf(field, `domain must be "*", "global" or "space:*"`)
		case !validToken(p.Object, true) || !validToken(p.Action, true):
			return fault.Invalidf(field, "object and action are * or words of a-z, 0-9, - and _")
		}
	}
	for i, g := range pl.Inheritance {
		if !validToken(g.Role, false) || !validToken(g.Inherits, false) || g.Role == g.Inherits {
			return fault.Invalidf(fmt.Sprintf("inheritance[%d]", i), "two different role names")
		}
	}
	if !slices.Contains(pl.Permissions, adminLine) {
		return fault.Invalidf("permissions", `the line {"role":"admin","domain":"*","object":"*","action":"*"} must stay`)
	}
	return nil
}

func (pl PolicyLines) model() (model.Model, error) {
	m, err := model.NewModelFromString(policies.Model)
	if err != nil {
		return nil, err
	}
	for _, p := range pl.Permissions {
		if err := m.AddPolicy("p", "p", []string{p.Role, p.Domain, p.Object, p.Action}); err != nil {
			return nil, err
		}
	}
	for _, g := range pl.Inheritance {
		if err := m.AddPolicy("g", "g", []string{g.Role, g.Inherits}); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Policy returns the policy in force.
func (a *Authorizer) Policy() (PolicyLines, error) {
	pl := PolicyLines{Permissions: []Permission{}, Inheritance: []Inheritance{}}
	ps, err := a.enf.GetPolicy()
	if err != nil {
		return pl, err
	}
	for _, p := range ps {
		if len(p) == 4 {
			pl.Permissions = append(pl.Permissions, Permission{p[0], p[1], p[2], p[3]})
		}
	}
	gs, err := a.enf.GetGroupingPolicy()
	if err != nil {
		return pl, err
	}
	for _, g := range gs {
		if len(g) == 2 {
			pl.Inheritance = append(pl.Inheritance, Inheritance{g[0], g[1]})
		}
	}
	return pl, nil
}

// SetPolicy validates pl, stores it in place of the current policy in one transaction,
// and applies it on every replica. It returns an Invalid fault for a bad line.
func (a *Authorizer) SetPolicy(ctx context.Context, pl PolicyLines) error {
	if err := pl.Validate(); err != nil {
		return err
	}
	m, err := pl.model()
	if err != nil {
		return fault.Invalidf("permissions", "%v", err)
	}
	if err := a.adapter.SavePolicy(m); err != nil {
		return fmt.Errorf("save policy: %w", err)
	}
	a.changes.Publish(ctx, changes.Change{Kind: changes.Policy})
	return nil
}

// AddPermissions adds the lines of add that the policy does not hold yet, as
// SetPolicy would (validated, stored, applied on every replica), and returns how
// many it added. Plugins' default policies come in this way.
func (a *Authorizer) AddPermissions(ctx context.Context, add []Permission) (int, error) {
	pl, err := a.Policy()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range add {
		if !slices.Contains(pl.Permissions, p) {
			pl.Permissions = append(pl.Permissions, p)
			n++
		}
	}
	if n == 0 {
		return 0, nil
	}
	return n, a.SetPolicy(ctx, pl)
}
