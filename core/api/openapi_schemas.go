package api

import (
	"maps"
	"slices"

	"github.com/pleinhq/plein/core/identity"
)

// jsonSchema is a JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1) as it is
// marshalled into the OpenAPI document.
type jsonSchema map[string]any

// The js constructors build JSON Schemas; jsType returns a schema of one JSON type,
// described by desc when it is not empty.
func jsType(typ, desc string) jsonSchema {
	s := jsonSchema{"type": typ}
	if desc != "" {
		s["description"] = desc
	}
	return s
}

func jsString(desc string) jsonSchema  { return jsType("string", desc) }
func jsInteger(desc string) jsonSchema { return jsType("integer", desc) }
func jsNumber(desc string) jsonSchema  { return jsType("number", desc) }
func jsBoolean(desc string) jsonSchema { return jsType("boolean", desc) }

// jsDateTime is an RFC 3339 UTC timestamp.
func jsDateTime(desc string) jsonSchema {
	s := jsString(desc)
	s["format"] = "date-time"
	return s
}

// jsEnum is a string that takes one of values.
func jsEnum(desc string, values ...string) jsonSchema {
	s := jsString(desc)
	e := make([]any, len(values))
	for i, v := range values {
		e[i] = v
	}
	s["enum"] = e
	return s
}

func jsArray(items jsonSchema) jsonSchema { return jsonSchema{"type": "array", "items": items} }

// jsStrings is an array of strings.
func jsStrings() jsonSchema { return jsArray(jsString("")) }

// jsRef points at a schema of components/schemas.
func jsRef(name string) jsonSchema { return jsonSchema{"$ref": "#/components/schemas/" + name} }

// jsNullable lets s be null too.
func jsNullable(s jsonSchema) jsonSchema {
	t, ok := s["type"].(string)
	if !ok {
		return jsonSchema{"anyOf": []jsonSchema{s, {"type": "null"}}}
	}
	n := maps.Clone(s)
	n["type"] = []string{t, "null"}
	if values, ok := s["enum"].([]any); ok {
		n["enum"] = append(slices.Clone(values), nil) // an enum lists null too, or null fails it
	}
	return n
}

// jsObject is an object with props, of which required are always present.
func jsObject(props map[string]jsonSchema, required ...string) jsonSchema {
	s := jsonSchema{"type": "object", "properties": props}
	if len(required) > 0 {
		slices.Sort(required)
		s["required"] = required
	}
	return s
}

// jsRecord is a response object: every property is always present.
func jsRecord(props map[string]jsonSchema) jsonSchema {
	return jsObject(props, slices.Sorted(maps.Keys(props))...)
}

// jsInput is a request body: the server refuses fields it does not know.
func jsInput(props map[string]jsonSchema, required ...string) jsonSchema {
	s := jsObject(props, required...)
	s["additionalProperties"] = false
	return s
}

// jsList is the shape of every list response.
func jsList(item jsonSchema) jsonSchema {
	return jsRecord(map[string]jsonSchema{
		"items":       jsArray(item),
		"next_cursor": jsNullable(jsString("Pass as ?cursor= to get the next page; null on the last page")),
	})
}

// withDefault gives s a default value.
func withDefault(s jsonSchema, v any) jsonSchema {
	s["default"] = v
	return s
}

// withMinimum0 refuses negative numbers.
func withMinimum0(s jsonSchema) jsonSchema {
	s["minimum"] = 0
	return s
}

// withMinLength requires at least n characters.
func withMinLength(s jsonSchema, n int) jsonSchema {
	s["minLength"] = n
	return s
}

func spaceRoleEnum(desc string) jsonSchema {
	return jsEnum(desc, "owner", "moderator", "member", "reader")
}

func visibilityEnum(desc string) jsonSchema {
	return jsEnum(desc, "open", "members", "private")
}

// componentSchemas are the named schemas the operations refer to.
func componentSchemas() map[string]jsonSchema {
	author := jsNullable(jsRef("Author"))
	item := map[string]jsonSchema{
		"id":            jsString(""),
		"kind":          jsString(`"post", "news", "page", or a kind a plugin registers`),
		"owner":         jsString(`"core", or the plugin that registered the item`),
		"space_id":      jsString(""),
		"author":        author,
		"title":         jsString(""),
		"body":          jsString(""),
		"parent_id":     jsNullable(jsString("The parent page of a page; null at the top of the tree and for other kinds")),
		"position":      jsInteger("The place among its siblings in the page tree"),
		"tags":          jsStrings(),
		"mentions":      jsArray(jsString("A mentioned user's id")),
		"comment_count": jsInteger(""),
		"restricted":    jsBoolean("Only the users and roles it is shared with (and its author) read it, not everyone who reads the space"),
		"created_at":    jsDateTime(""),
		"updated_at":    jsDateTime(""),
		"edited_by":     jsNullable(jsRef("Author")),
		"document":      jsNullable(jsRef("DocumentFile")),
		"attachments":   jsArray(jsRef("Attachment")),
		"features":      jsonSchema{"type": "object", "description": `What enabled plugins add, by plugin name, e.g. {"likes":{"count":3,"liked":true}}`},
	}
	return map[string]jsonSchema{
		"Problem": jsObject(map[string]jsonSchema{
			"type":       jsString(`"urn:plein:problem:" followed by the code`),
			"title":      jsString("The HTTP status text"),
			"status":     jsInteger("The HTTP status"),
			"detail":     jsString("What went wrong, for people"),
			"code":       jsString("A stable machine code, e.g. not_found, forbidden, validation_failed, rate_limited"),
			"request_id": jsString("The X-Request-ID of the request, for the logs"),
			"errors":     jsArray(jsRef("FieldError")),
			"checks":     jsonSchema{"type": "object", "description": "On /readyz: each backend's check", "additionalProperties": jsRef("Check")},
		}, "type", "title", "status", "code"),
		"FieldError": jsRecord(map[string]jsonSchema{
			"field":   jsString("The invalid input: a body field or query parameter"),
			"message": jsString(""),
		}),
		"Health": jsRecord(map[string]jsonSchema{
			"status":  jsEnum("", "ok"),
			"version": jsString(""),
		}),
		"Readiness": jsRecord(map[string]jsonSchema{
			"status": jsEnum("", "ready"),
			"checks": jsonSchema{"type": "object", "additionalProperties": jsRef("Check")},
		}),
		"Check": jsObject(map[string]jsonSchema{
			"status":  jsEnum("", "ok", "failing"),
			"backend": jsString(`e.g. "sqlite", "postgres", "local", "s3", "redis"`),
			"ms":      jsNumber("How long the check took"),
			"error":   jsString("Why it failed"),
		}, "status", "backend", "ms"),
		"User": jsRecord(map[string]jsonSchema{
			"id":         jsString(""),
			"email":      jsString(""),
			"name":       jsString(""),
			"roles":      jsStrings(),
			"disabled":   jsBoolean("A disabled user cannot log in"),
			"created_at": jsDateTime(""),
			"updated_at": jsDateTime(""),
		}),
		"Role": jsRecord(map[string]jsonSchema{
			"name":        jsString(""),
			"title":       jsString(""),
			"description": jsString(""),
			"builtin":     jsBoolean("admin, manager, employee and external always exist"),
			"users":       jsInteger("How many users hold it"),
			"created_at":  jsDateTime(""),
		}),
		"Space": jsRecord(map[string]jsonSchema{
			"id":          jsString(""),
			"name":        jsString(""),
			"description": jsString(""),
			"visibility":  visibilityEnum(""),
			"roles":       jsArray(jsString("A role whose holders may read an open space")),
			"created_by":  jsNullable(jsString("The creator's user id")),
			"created_at":  jsDateTime(""),
			"updated_at":  jsDateTime(""),
			"my_role":     jsNullable(spaceRoleEnum("The caller's membership role")),
		}),
		"Member": jsRecord(map[string]jsonSchema{
			"user_id":   jsString(""),
			"name":      jsString(""),
			"email":     jsString(""),
			"role":      spaceRoleEnum(""),
			"joined_at": jsDateTime(""),
		}),
		"Membership": jsRecord(map[string]jsonSchema{
			"space_id": jsString(""),
			"user_id":  jsString(""),
			"role":     spaceRoleEnum(""),
		}),
		"Session": jsRecord(map[string]jsonSchema{
			"token":      jsString("Send as Authorization: Bearer <token>"),
			"expires_at": jsDateTime(""),
			"user":       jsRef("User"),
		}),
		"Me": jsRecord(map[string]jsonSchema{
			"id":    jsString(""),
			"email": jsString(""),
			"name":  jsString(""),
			"roles": jsStrings(),
			"spaces": jsArray(jsRecord(map[string]jsonSchema{
				"id":   jsString(""),
				"role": spaceRoleEnum(""),
			})),
		}),
		"Policy": jsInput(map[string]jsonSchema{
			"permissions": jsArray(jsInput(map[string]jsonSchema{
				"role":   jsString(""),
				"domain": jsEnum(`Where it applies: "global", every space ("space:*"), or both ("*")`, "*", "global", "space:*"),
				"object": jsString(""),
				"action": jsString(""),
			}, "role", "domain", "object", "action")),
			"inheritance": jsArray(jsInput(map[string]jsonSchema{
				"role":     jsString(""),
				"inherits": jsString("Holders of role hold this role too"),
			}, "role", "inherits")),
		}, "permissions", "inheritance"),
		"Author": jsRecord(map[string]jsonSchema{
			"id":   jsString(""),
			"name": jsString(""),
		}),
		"Item": jsRecord(item),
		"DocumentFile": jsRecord(map[string]jsonSchema{
			"filename":     jsString("Made safe: no path, no control characters"),
			"size":         jsInteger("Bytes"),
			"content_type": jsString("Sniffed from the bytes"),
			"sha256":       jsString("Hex"),
			"version":      jsInteger("The current version's number"),
		}),
		"Attachment": jsRecord(map[string]jsonSchema{
			"id":    jsString("The document's id"),
			"title": jsString(""),
			"file":  jsRef("DocumentFile"),
		}),
		"Feature": jsRecord(map[string]jsonSchema{
			"name":    jsString(""),
			"title":   jsString(""),
			"version": jsString(""),
			"spaces":  jsNullable(jsArray(jsString("A space id"))),
		}),
		"PluginStatus": jsObject(map[string]jsonSchema{
			"name":            jsString(""),
			"title":           jsString(""),
			"version":         jsString(""),
			"enabled":         jsBoolean("The desired state"),
			"state":           jsEnum("On this server", "starting", "running", "stopped", "failed", "refused"),
			"error":           jsString("Why it is down, failed or refused"),
			"failures":        jsInteger("Crashes in the last ten minutes"),
			"scope":           jsRecord(map[string]jsonSchema{"spaces": jsNullable(jsStrings()), "roles": jsNullable(jsStrings())}),
			"settings":        jsonSchema{"type": "object"},
			"settings_schema": jsNullable(jsonSchema{"type": "object", "description": "JSON schema of settings, from the plugin's manifest"}),
			"sha256":          jsString("Of the approved binary"),
		}, "name", "title", "version", "enabled", "state", "failures", "scope", "settings", "settings_schema", "sha256"),
		"TrashedItem": {
			"allOf": []jsonSchema{jsRef("Item"), jsRecord(map[string]jsonSchema{"deleted_at": jsDateTime("")})},
		},
		"Document": {
			"allOf": []jsonSchema{jsRef("Item"), jsRecord(map[string]jsonSchema{
				"versions": jsArray(jsRecord(map[string]jsonSchema{
					"number":       jsInteger(""),
					"filename":     jsString(""),
					"size":         jsInteger(""),
					"content_type": jsString(""),
					"sha256":       jsString(""),
					"uploaded_by":  author,
					"created_at":   jsDateTime(""),
				})),
			})},
		},
		"Comment": jsRecord(map[string]jsonSchema{
			"id":         jsString(""),
			"item_id":    jsString(""),
			"parent_id":  jsNullable(jsString("The comment this one answers")),
			"author":     author,
			"body":       jsString(""),
			"mentions":   jsArray(jsString("A mentioned user's id")),
			"created_at": jsDateTime(""),
			"updated_at": jsDateTime(""),
			"edited":     jsBoolean(""),
		}),
		"PageNode": jsRecord(map[string]jsonSchema{
			"id":         jsString(""),
			"title":      jsString(""),
			"parent_id":  jsNullable(jsString("")),
			"position":   jsInteger(""),
			"updated_at": jsDateTime(""),
			"children":   jsArray(jsRef("PageNode")),
		}),
		"SearchHit": {
			"allOf": []jsonSchema{jsRef("Item"), jsRecord(map[string]jsonSchema{
				"snippet": jsString("The part of the body that matched"),
				"highlights": jsArray(jsonSchema{
					"type":        "array",
					"description": "[start, end) rune offsets into snippet of a matched term",
					"items":       jsInteger(""),
					"minItems":    2,
					"maxItems":    2,
				}),
				"rank": jsNumber("Higher is a better match"),
			})},
		},
	}
}

// uploadFormSchema is the multipart form of an upload; a new document also takes a title and
// a description.
func uploadFormSchema(document bool) jsonSchema {
	props := map[string]jsonSchema{"file": {"type": "string", "format": "binary", "description": "The file, with its name"}}
	if document {
		props["title"] = jsString("Defaults to the file's name")
		props["description"] = jsString("Markdown")
	}
	return jsInput(props, "file")
}

// passwordSchema is a new password as identity accepts it.
func passwordSchema() jsonSchema {
	return withMinLength(jsString(""), identity.MinPasswordLen)
}
