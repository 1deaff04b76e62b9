// Command votes is Plein's votes plugin: up and down votes on items (ideas), idea
// status set by space moderators, a per-space vote budget, a ranking per space, and
// polls.
//
// Votes: any item a user may read takes one vote from them, 1 or -1; items carry
// {"score","up","down","my_vote"}. An idea is an item of kind "idea" made here;
// every voted item is ranked in its space (GET /top?space=). Status: open (the
// default), planned, done or declined, set by the space's moderators. Budget: a
// space's moderators may give each user N active votes in the space, as Discourse's
// topic voting does; a vote on an open or planned item is active, and closing it
// (done, declined) or deleting it gives its votes back to their voters.
//
// Polls are items of kind "poll": a question, 2 to 20 options, one choice or
// several, an optional closing time, and results shown after voting or only after
// closing, as the poll says.
//
// Storage, all in the plugin's KV namespace (ids are path-escaped):
//
//	v/<item>/<user>     a vote: 1 or -1; also the decoration's "my_vote"
//	c/<item>/<user>     the vote is charged to the user's budget in the item's space
//	b/<space>/<user>    the user's charged votes in the space, JSON number
//	uv/<user>/<item>    reverse index of votes, for user.deleted; the item's space
//	st/<item>           the item's status, JSON string; none means open
//	ix/<space>/<item>   the space's ranked items
//	cfg/<space>         the space's settings, JSON {"vote_budget"}
//	poll/<item>         a poll, JSON
//	pb/<item>/<user>    a ballot: JSON list of option ids
//	ub/<user>/<item>    reverse index of ballots, for user.deleted
//
// Counters: s/<item>, up/<item>, dn/<item> (score, up and down votes), po/<item>/<n>
// (votes for poll option n) and pv/<item> (a poll's voters).
//
// Every change is one host transaction over the keys and counters it touches, with
// conditions on what it read, so counts and budgets stay exact under concurrency; a
// transaction that lost a race is retried from a fresh read.
package main

import "github.com/pleinhq/plein/sdk"

func main() { sdk.Serve(New()) }
