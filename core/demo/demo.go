// Package demo seeds a demo organisation: a municipality of 190 people in 21 roles,
// with department, project and open spaces, the same every time.
package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/pleinhq/plein/core/content"
	"github.com/pleinhq/plein/core/identity"
	"github.com/pleinhq/plein/core/spaces"
)

// Domain is the email domain of every demo user.
const Domain = "demo.plein"

// Org is what seeding made, for printing and for tests.
type Org struct {
	Users   map[string]identity.User // by email
	Roles   []string
	Spaces  map[string]spaces.Space // by name
	Logins  []Login                 // one sample login per kind of user
	Members int                     // memberships made
	Items   int                     // posts and news made (pages and comments beside)
}

// Login is a sample account to try the demo with.
type Login struct {
	Kind  string // what the account shows, e.g. "external party"
	Email string
	Name  string
}

type role struct{ name, title string }

// The 17 roles beside the four built-in ones: 21 in all.
var departments = []role{
	{"dept-civil-affairs", "Burgerzaken"},
	{"dept-finance", "Financiën"},
	{"dept-hr", "Personeel & Organisatie"},
	{"dept-it", "Informatievoorziening & ICT"},
	{"dept-communications", "Communicatie"},
	{"dept-public-space", "Openbare Ruimte"},
	{"dept-social", "Sociaal Domein"},
	{"dept-planning", "Ruimtelijke Ontwikkeling"},
	{"dept-legal", "Juridische Zaken"},
}

var otherRoles = []role{
	{"secretariat", "Secretariaat"},
	{"management-team", "Managementteam"},
	{"helpdesk", "IT-helpdesk"},
	{"project-town-hall", "Project Nieuw Gemeentehuis"},
	{"project-digital-services", "Project Digitale Dienstverlening"},
	{"project-housing", "Project Woningbouw Centrum"},
	{"external-contractor", "Externe aannemer"},
	{"external-consultant", "Externe adviseur"},
}

var firstNames = []string{"Anna", "Bram", "Carla", "Daan", "Eva", "Frank", "Greet", "Hans", "Ilse", "Jan", "Karin", "Lars", "Marieke", "Niels",
	"Olga", "Pieter", "Quinten", "Rosa", "Sander", "Tessa", "Ursula", "Vincent", "Wendy", "Xander", "Yara", "Zeger", "Anouk", "Bas",
	"Chantal", "Dirk", "Esther", "Floor", "Gijs", "Hanneke", "Ivo", "Joost", "Kim", "Lotte", "Maarten", "Nina", "Oscar", "Petra",
	"Ruben", "Sanne", "Thijs", "Vera", "Willem", "Yvonne"}

var lastNames = []string{"de Vries", "Jansen", "van den Berg", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder", "de Groot",
	"Bos", "Vos", "Peters", "Hendriks", "van Leeuwen", "Dekker", "Brouwer", "de Wit", "Dijkstra", "Smits", "de Graaf", "van der Meer",
	"Kok", "Jacobs", "de Haan", "Vermeulen", "van den Heuvel", "van der Veen", "van Dijk", "Hoekstra", "Schouten", "Willems", "Koster",
	"Prins", "Blom", "Huisman", "Kuipers", "van Dam", "Verhoeven", "Post"}

// Services is what seeding writes through.
type Services struct {
	Users   *identity.Service
	Spaces  *spaces.Service
	Content *content.Service // nil: no content
}

// Seed creates the demo organisation with password as every user's password. It
// returns a Conflict fault from identity if demo users already exist.
func Seed(ctx context.Context, s Services, password string) (*Org, error) {
	hash, err := s.Users.HashPassword(ctx, password)
	if err != nil {
		return nil, fmt.Errorf("demo password: %w", err)
	}
	org := &Org{Users: map[string]identity.User{}, Spaces: map[string]spaces.Space{}}
	for _, r := range append(slices.Clone(departments), otherRoles...) {
		if _, err := s.Users.CreateRole(ctx, r.name, r.title, ""); err != nil {
			return nil, fmt.Errorf("role %s: %w", r.name, err)
		}
		org.Roles = append(org.Roles, r.name)
	}
	org.Roles = append(org.Roles, identity.RoleAdmin, identity.RoleManager, identity.RoleEmployee, identity.RoleExternal)
	slices.Sort(org.Roles)

	people := plan()
	for _, p := range people {
		u, err := s.Users.CreateUserWithHash(ctx, p.email, p.name, hash, p.roles)
		if err != nil {
			return nil, fmt.Errorf("user %s: %w", p.email, err)
		}
		org.Users[p.email] = u
	}
	if err := seedSpaces(ctx, s, org, people); err != nil {
		return nil, err
	}
	if err := seedContent(ctx, s.Content, org, people); err != nil {
		return nil, err
	}
	org.Logins = []Login{
		{"admin", "admin@" + Domain, org.Users["admin@"+Domain].Name},
		{"manager", "manager@" + Domain, org.Users["manager@"+Domain].Name},
		{"employee (finance)", "employee@" + Domain, org.Users["employee@"+Domain].Name},
		{"secretary's office", "secretary@" + Domain, org.Users["secretary@"+Domain].Name},
		{"IT helpdesk", "helpdesk@" + Domain, org.Users["helpdesk@"+Domain].Name},
		{"project team member", "project@" + Domain, org.Users["project@"+Domain].Name},
		{"external party", "external@" + Domain, org.Users["external@"+Domain].Name},
	}
	return org, nil
}

// person is one planned user.
type person struct {
	email, name string
	roles       []string
	dept        string // department role, if any
	head        bool   // heads their department
}

// plan lays out the 190 people. The same every time: a fixed seed.
func plan() []person {
	rng := rand.New(rand.NewPCG(2026, 11))
	used := map[string]bool{}
	name := func() (string, string) {
		for {
			f, l := firstNames[rng.IntN(len(firstNames))], lastNames[rng.IntN(len(lastNames))]
			full := f + " " + l
			if !used[full] {
				used[full] = true
				local := strings.ToLower(f + "." + strings.ReplaceAll(l, " ", ""))
				return full, local + "@" + Domain
			}
		}
	}
	var people []person
	add := func(p person) { people = append(people, p) }
	named := func(email string, roles []string, dept string) {
		n, _ := name()
		add(person{email: email, name: n, roles: roles, dept: dept})
	}

	// The sample logins first, so they are easy to find.
	named("admin@"+Domain, []string{identity.RoleAdmin}, "")
	named("manager@"+Domain, []string{identity.RoleManager, identity.RoleEmployee, "management-team"}, "")
	named("employee@"+Domain, []string{identity.RoleEmployee, "dept-finance"}, "dept-finance")
	named("secretary@"+Domain, []string{identity.RoleEmployee, "secretariat"}, "")
	named("helpdesk@"+Domain, []string{identity.RoleEmployee, "dept-it", "helpdesk"}, "dept-it")
	named("project@"+Domain, []string{identity.RoleEmployee, "dept-planning", "project-town-hall"}, "dept-planning")
	named("external@"+Domain, []string{identity.RoleExternal, "external-contractor"}, "")

	// A second manager, the rest of the secretary's office, and externals.
	for range 1 {
		n, e := name()
		add(person{email: e, name: n, roles: []string{identity.RoleManager, identity.RoleEmployee, "management-team"}})
	}
	for range 5 {
		n, e := name()
		add(person{email: e, name: n, roles: []string{identity.RoleEmployee, "secretariat"}})
	}
	for i := range 11 {
		n, e := name()
		kind := "external-contractor"
		if i%3 == 0 {
			kind = "external-consultant"
		}
		add(person{email: e, name: n, roles: []string{identity.RoleExternal, kind}})
	}

	// Departments fill the rest: 190 in all. The first of each heads it and sits in the
	// management team; a few in IT staff the helpdesk; projects draw from everywhere.
	projects := []string{"project-town-hall", "project-digital-services", "project-housing"}
	for i := 0; len(people) < 190; i++ {
		d := departments[i%len(departments)].name
		n, e := name()
		p := person{email: e, name: n, roles: []string{identity.RoleEmployee, d}, dept: d}
		if i < len(departments) {
			p.head = true
			p.roles = append(p.roles, "management-team")
		}
		if d == "dept-it" && i < 5*len(departments) {
			p.roles = append(p.roles, "helpdesk")
		}
		if i%7 == 3 {
			p.roles = append(p.roles, projects[(i/7)%len(projects)])
		}
		add(p)
	}
	return people
}

// seedSpaces creates the spaces and memberships.
func seedSpaces(ctx context.Context, s Services, org *Org, people []person) error {
	admin := org.Users["admin@"+Domain].ID
	create := func(name, desc string, vis spaces.Visibility, roles []string) (spaces.Space, error) {
		sp, err := s.Spaces.Create(ctx, admin, spaces.NewSpace{Name: name, Description: desc, Visibility: vis, Roles: roles})
		if err != nil {
			return sp, fmt.Errorf("space %s: %w", name, err)
		}
		org.Spaces[name] = sp
		return sp, nil
	}
	member := func(sp spaces.Space, email, role string) error {
		if _, err := s.Spaces.SetMember(ctx, sp.ID, org.Users[email].ID, role); err != nil {
			return fmt.Errorf("member %s of %s: %w", email, sp.Name, err)
		}
		org.Members++
		return nil
	}
	hasRole := func(p person, r string) bool { return slices.Contains(p.roles, r) }

	// Open to every employee.
	news, err := create("Nieuws & mededelingen", "Nieuws van de gemeente voor alle medewerkers.", spaces.Open, nil)
	if err != nil {
		return err
	}
	if _, err := create("Kennisbank", "Werkinstructies, procedures en de kennis van de organisatie.", spaces.Open, nil); err != nil {
		return err
	}
	helpdesk, err := create("IT-helpdesk", "Stel je vraag aan de IT-helpdesk; antwoorden zijn voor iedereen zichtbaar.", spaces.Open, nil)
	if err != nil {
		return err
	}
	if _, err := create("Koffiehoek", "Van verjaardagen tot de fietsen van de personeelsvereniging.", spaces.Open, nil); err != nil {
		return err
	}
	// One space per department, open to that department's role.
	for _, d := range departments {
		sp, err := create(d.title, "Afdeling "+d.title+".", spaces.Open, []string{d.name})
		if err != nil {
			return err
		}
		for _, p := range people {
			if p.dept != d.name {
				continue
			}
			role := spaces.Member
			if p.head {
				role = spaces.Owner
			}
			if err := member(sp, p.email, role); err != nil {
				return err
			}
		}
	}
	// Members-only and private spaces.
	sec, err := create("Secretariaat", "Agenda's, vergaderstukken en post van het secretariaat.", spaces.Members, nil)
	if err != nil {
		return err
	}
	mt, err := create("Managementteam", "Vertrouwelijk overleg van het managementteam.", spaces.Private, nil)
	if err != nil {
		return err
	}
	for _, p := range people {
		if hasRole(p, "secretariat") {
			if err := member(sec, p.email, spaces.Member); err != nil {
				return err
			}
		}
		if hasRole(p, "management-team") {
			if err := member(mt, p.email, spaces.Member); err != nil {
				return err
			}
		}
		if hasRole(p, "dept-communications") {
			if err := member(news, p.email, spaces.Moderator); err != nil {
				return err
			}
		}
		if hasRole(p, "helpdesk") {
			if err := member(helpdesk, p.email, spaces.Moderator); err != nil {
				return err
			}
		}
	}
	// Project teams: members-only spaces; the town hall project works with contractors.
	for _, pr := range otherRoles[3:6] {
		sp, err := create(pr.title, "Projectteam "+pr.title+".", spaces.Members, nil)
		if err != nil {
			return err
		}
		for _, p := range people {
			if hasRole(p, pr.name) || (pr.name == "project-town-hall" && hasRole(p, "external-contractor")) {
				if err := member(sp, p.email, spaces.Member); err != nil {
					return err
				}
			}
		}
	}
	// A space opened to the external parties' roles as well as a project's.
	_, err = create("Samenwerking met externen", "Afstemming met aannemers en adviseurs.", spaces.Open,
		[]string{"external-contractor", "external-consultant", "project-town-hall", "management-team"})
	return err
}

// Team is a role and the name of the space its holders work in.
type Team struct{ Role, Space string }

// Departments returns the department roles and their spaces (open to the role).
func Departments() []Team {
	out := make([]Team, len(departments))
	for i, d := range departments {
		out[i] = Team{d.name, d.title}
	}
	return out
}

// Projects returns the project roles and their members-only spaces.
func Projects() []Team {
	out := make([]Team, 0, 3)
	for _, p := range otherRoles[3:6] {
		out = append(out, Team{p.name, p.title})
	}
	return out
}

// RandomName returns a Dutch first and last name drawn with rng; names may repeat.
func RandomName(rng *rand.Rand) string {
	return firstNames[rng.IntN(len(firstNames))] + " " + lastNames[rng.IntN(len(lastNames))]
}
