// Command qa is Plein's Q&A plugin: questions (items of kind "question") and answers
// (items of kind "answer") in spaces, votes and an accepted answer, similar questions
// before asking, and a helpdesk mode with status, assignee, internal notes and
// statistics. README.md describes its routes and settings.
//
// Storage, all in the plugin's KV namespace (ids are path-escaped):
//
//	q/<question>                          the question's record (status, tags, assignee, ...), JSON; also its decoration
//	sq/<space>/<rev time>/<question>      a space's questions, newest first
//	ss/<space>/<status>/<rev time>/<q>    a space's questions by status, newest first
//	a/<question>/<answer>                 an answer's record (created_at, votes), JSON
//	aq/<answer>                           {"question_id"}: the answer's question; also its decoration
//	v/<answer>/<user>                     a user's vote on an answer: 1 or -1
//	n/<question>/<time>-<note>            an internal note, JSON
//	u/<user>/...                          what user.deleted must clean: v/<answer>, asg/<question>, n/<question>/<note key>
//	staff/<space>/<user>                  helpdesk members seen acting in the space (30 days), whom questions may be assigned to
//
// Titles, bodies and authors are the items' own, read from the host as the acting
// user, so edits through the core's item routes show at once and nobody sees a
// question or answer they may not read.
package main

import "github.com/pleinhq/plein/sdk"

func main() { sdk.Serve(New()) }
