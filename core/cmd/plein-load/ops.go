package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
)

// client is one simulated person at a keyboard, going from operation to operation.
type client struct {
	api   *api
	rng   *rand.Rand
	tally tally
	keep  int
	// liked holds what this client liked, by user, for unlikes to take back.
	liked map[*user][]string
	// expect are the plugins whose fields each item read should carry.
	expect []string
}

// complete reports whether an item carries the expected plugins' fields.
func (c *client) complete(it decorated) bool {
	for _, name := range c.expect {
		if _, ok := it.Features[name]; !ok {
			return false
		}
	}
	return true
}

// operation does one thing as a user; it returns false if that user cannot do it
// (nothing to read, no space to post in), so the client picks another user.
type operation struct {
	name string
	run  func(c *client, ctx context.Context, u *user) bool
}

var operations = []operation{
	{"feed", (*client).feed},
	{"read", (*client).read},
	{"search", (*client).search},
	{"post", (*client).post},
	{"comment", (*client).comment},
	{"like", (*client).like},
	{"unlike", (*client).unlike},
	{"vote", (*client).vote},
	{"download", (*client).download},
}

// reportOrder is the order of the table's rows: "feed" records two.
var reportOrder = []string{"feed", "feed next", "read", "search", "post", "comment", "like", "unlike", "vote", "download"}

func opByName(name string) (operation, bool) {
	for _, o := range operations {
		if o.name == name {
			return o, true
		}
	}
	return operation{}, false
}

func opNames() []string {
	out := make([]string, len(operations))
	for i, o := range operations {
		out[i] = o.name
	}
	return out
}

// can reports whether u has what op needs.
func can(op string, u *user) bool {
	switch op {
	case "read", "comment", "like", "unlike", "vote":
		return u.reads.items.len() > 0
	case "download":
		return u.reads.documents.len() > 0
	case "post":
		return len(u.writable) > 0
	}
	return true
}

// call sends one request and records it under op: a 2xx answer is a success, any
// other answer or a transport error an error. It returns the body of a success.
func (c *client) call(ctx context.Context, op, method, path, token string, body any) ([]byte, bool) {
	start := time.Now()
	code, b, err := c.api.do(ctx, method, path, token, body)
	took := time.Since(start)
	if ctx.Err() != nil {
		return nil, false // the phase ended mid-request: neither a success nor an error
	}
	switch {
	case err != nil:
		c.tally.fail(op, fmt.Sprintf("%s %s: %v", method, path, err), c.keep)
		return nil, false
	case code < 200 || code > 299:
		c.tally.fail(op, fmt.Sprintf("%s %s: %d %s", method, path, code, clip(b)), c.keep)
		return nil, false
	}
	c.tally.ok(op, took)
	return b, true
}

func (c *client) pick(list []string) string { return list[c.rng.IntN(len(list))] }

func (c *client) pickID(l *ids) string { return l.at(c.rng.IntN(l.len())) }

// feed reads the first page of the feed, then the next one, as someone scrolling.
func (c *client) feed(ctx context.Context, u *user) bool {
	b, ok := c.call(ctx, "feed", "GET", "/api/v1/feed?limit=20", u.token, nil)
	if !ok {
		return true
	}
	page, ok := c.checkPage("feed", b)
	if ok && page.NextCursor != nil {
		if b, ok := c.call(ctx, "feed next", "GET", "/api/v1/feed?limit=20&cursor="+url.QueryEscape(*page.NextCursor), u.token, nil); ok {
			c.checkPage("feed next", b)
		}
	}
	return true
}

// checkPage decodes a feed page and counts it degraded if an item lacks fields.
func (c *client) checkPage(op string, b []byte) (feedPage, bool) {
	var page feedPage
	if err := json.Unmarshal(b, &page); err != nil {
		c.tally.fail(op, "feed page: "+err.Error(), c.keep)
		return page, false
	}
	for _, it := range page.Items {
		if !c.complete(it) {
			c.tally.degrade(op)
			break
		}
	}
	return page, true
}

func (c *client) read(ctx context.Context, u *user) bool {
	if !can("read", u) {
		return false
	}
	b, ok := c.call(ctx, "read", "GET", "/api/v1/items/"+c.pickID(&u.reads.items), u.token, nil)
	var it decorated
	switch {
	case !ok:
	case json.Unmarshal(b, &it) != nil:
		c.tally.fail("read", "item: not JSON: "+clip(b), c.keep)
	case !c.complete(it):
		c.tally.degrade("read")
	}
	return true
}

// searchWords go from a word in half the seeded items to one in a few dozen.
var searchWords = []string{"gemeente", "planning", "wethouder", "vergunning", "warmtepomp", "aanbesteding", "kademuur",
	"begroting", "gemeente planning", "vpn"}

func (c *client) search(ctx context.Context, u *user) bool {
	c.call(ctx, "search", "GET", "/api/v1/search?limit=20&q="+url.QueryEscape(c.pick(searchWords)), u.token, nil)
	return true
}

func (c *client) post(ctx context.Context, u *user) bool {
	if !can("post", u) {
		return false
	}
	body := map[string]string{"kind": "post", "body": c.text(12+c.rng.IntN(40)) + " #loadtest"}
	c.call(ctx, "post", "POST", "/api/v1/spaces/"+c.pick(u.writable)+"/posts", u.token, body)
	return true
}

func (c *client) comment(ctx context.Context, u *user) bool {
	if !can("comment", u) {
		return false
	}
	c.call(ctx, "comment", "POST", "/api/v1/items/"+c.pickID(&u.reads.items)+"/comments", u.token, map[string]string{"body": c.text(5 + c.rng.IntN(20))})
	return true
}

func (c *client) like(ctx context.Context, u *user) bool {
	if !can("like", u) {
		return false
	}
	item := c.pickID(&u.reads.items)
	if _, ok := c.call(ctx, "like", "PUT", "/api/v1/plugins/likes/items/"+item+"/like", u.token, nil); ok {
		c.liked[u] = append(c.liked[u], item)
	}
	return true
}

// unlike takes back a like this client gave as u, or, if none is left, one on a
// random item (which answers 200 all the same).
func (c *client) unlike(ctx context.Context, u *user) bool {
	if !can("unlike", u) {
		return false
	}
	item := c.pickID(&u.reads.items)
	if l := c.liked[u]; len(l) > 0 {
		i := c.rng.IntN(len(l))
		item = l[i]
		c.liked[u] = slices.Delete(l, i, i+1)
	}
	c.call(ctx, "unlike", "DELETE", "/api/v1/plugins/likes/items/"+item+"/like", u.token, nil)
	return true
}

func (c *client) vote(ctx context.Context, u *user) bool {
	if !can("vote", u) {
		return false
	}
	value := 1
	if c.rng.IntN(4) == 0 {
		value = -1
	}
	c.call(ctx, "vote", "PUT", "/api/v1/plugins/votes/items/"+c.pickID(&u.reads.items)+"/vote", u.token, map[string]int{"value": value})
	return true
}

func (c *client) download(ctx context.Context, u *user) bool {
	if !can("download", u) {
		return false
	}
	c.call(ctx, "download", "GET", "/api/v1/documents/"+c.pickID(&u.reads.documents)+"/content", u.token, nil)
	return true
}

var postWords = strings.Fields(`de het een van en in op voor met is dat gemeente project planning overleg update week
	afdeling werk vraag informatie afspraak budget rapport besluit inwoners wijk centrum vergunning subsidie
	onderhoud helpdesk laptop printer training wethouder raad inspraak jeugd zorg klimaat energie archief privacy
	personeel verlof kantoor lunch collega agenda notulen nieuws intranet`)

func (c *client) text(n int) string {
	ws := make([]string, n)
	for i := range ws {
		ws[i] = postWords[c.rng.IntN(len(postWords))]
	}
	return strings.ToUpper(ws[0][:1]) + strings.Join(ws, " ")[1:] + "."
}

// usable returns the operations of m that at least one user can do, and those no
// user can (a server without documents cannot serve downloads).
func usable(m mix, users []*user) (ok mix, dropped []string) {
	for _, name := range m.names {
		if !slices.ContainsFunc(users, func(u *user) bool { return can(name, u) }) {
			dropped = append(dropped, name)
		}
	}
	sort.Strings(dropped)
	return m.without(dropped), dropped
}
