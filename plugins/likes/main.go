// Command likes is Plein's likes plugin: users like and unlike any item they may
// read, one like per user per item; feeds, search and item reads carry
// {"count","liked"} on every item; an item's likers are listed a page at a time.
// When an item or a user is deleted, their likes go too.
//
// Storage, all in the plugin's KV namespace (ids are path-escaped):
//
//	l/<item>/<user>  the like, JSON {"liked_at"}; also the decoration's "liked"
//	u/<user>/<item>  reverse index, for cleanup when the user is deleted
//	n/<item>         counter: the item's likes; the decoration's "count"
//
// A like or an unlike is one host transaction: the like, its index entry and the
// count change together or not at all, so counts stay exact under any concurrency.
// The core checks that the caller may read the item before a request arrives (every
// route names {item_id} and needs "read"), so a like costs one call to the host.
package main

import "github.com/pleinhq/plein/sdk"

func main() { sdk.Serve(New()) }
