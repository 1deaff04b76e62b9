// Command projects is Plein's projects plugin: employees start projects, alone or in a
// space, with members in a role (owner, member, viewer), tasks (assignee, due date,
// status, order) and links to documents they may read. A project is an item of kind
// "project" (its id is the item's), so it shows in feeds and search for its space's
// readers, or, outside spaces, for its members only. Finishing a task and archiving a
// project publish events and register an item of kind "activity" beside the project,
// for the feed. README.md describes the routes.
//
// Storage, all in the plugin's KV namespace (ids are path-escaped):
//
//	p/<project>                  the project's record, JSON: name, space, owner, status, members
//	m/<user>/<project>           the user is a member ({"role"}): ?member=me, user.deleted
//	s/<space>/<project>          the project is in the space: ?space=, space.deleted
//	t/<project>/<task>           a task, JSON
//	a/<user>/<project>/<task>    the task is assigned to the user: GET /tasks?assignee=me
//	d/<project>/<item>           a linked document, JSON {"item_id","linked_by","linked_at"}
//	l/<project>/<item>           an activity item the plugin registered, JSON
//	r/<item>/<project>           what the item is to the project ({"kind":"document"|"activity"}), for item.deleted
//
// and two counters per project: n/<project> (its tasks) and o/<project> (the last
// default task order).
//
// Index entries are written before the record they point to and removed after it,
// so a failure halfway leaves an index entry too many, which readers skip and
// cleanup removes, never a record no index finds.
package main

import "github.com/pleinhq/plein/sdk"

func main() { sdk.Serve(New()) }
