// Command folders is the personal folders plugin: every user keeps a private tree of
// folders and files within a quota, and shares files or folders read-only with users
// or roles, until an optional expiry (a meeting's documents, say).
//
// Routes, under /api/v1/plugins/folders:
//
//	GET    /me                         quota {used, limit} and the folder tree
//	GET    /me/items                   what is in the root (?limit, ?cursor)
//	POST   /me/files                   upload: multipart "file", optional "parent_id", "name"
//	POST   /folders                    {"name", "parent_id"?}
//	GET    /folders/{id}               metadata (owner and grantees)
//	GET    /folders/{id}/items         what is in it (owner and grantees)
//	PATCH  /folders/{id}               {"name"?, "parent_id"?}: rename, move (null: the root)
//	DELETE /folders/{id}               with everything in it
//	GET    /files/{id}                 metadata (owner and grantees)
//	GET    /files/{id}/content         the bytes, ranges (?download=true: as an attachment)
//	PATCH  /files/{id}, DELETE /files/{id}
//	GET|PUT|DELETE /files/{id}/shares, /folders/{id}/shares
//	                                   {"users":[...],"roles":[...],"expires_at"?}; DELETE revokes
//	GET    /shared-with-me             what is shared with the caller or their roles
//	GET    /search?q=                  the caller's and shared folders and files by name
//
// Files are not items: the core's feed and search never show them (the host cannot
// restrict an item with an expiry), so /search is where owners and grantees find them.
// Someone who is neither owner nor grantee gets 404 on every route; a grantee who
// tries a change gets 403.
package main

import "github.com/pleinhq/plein/sdk"

func main() { sdk.Serve(New()) }
