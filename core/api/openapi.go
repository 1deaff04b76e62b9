package api

import (
	"cmp"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/gofiber/fiber/v2"
)

// openapi serves the OpenAPI 3.1 document of every route.
func (s *Server) openapi(c *fiber.Ctx) error {
	doc, err := s.openapiJSON()
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(doc)
}

// openapiOnce returns a function that builds the marshalled document on its first call
// and returns the same bytes after: the document depends only on the route table and
// the version, both fixed when the server is made.
func (s *Server) openapiOnce() func() ([]byte, error) {
	return sync.OnceValues(func() ([]byte, error) { return json.Marshal(s.openapiDocument()) })
}

// opDoc is what the route table does not say about a route: the shapes of its bodies
// and the statuses it answers.
type opDoc struct {
	tag         string     // set from the group the route is documented in
	description string     // beyond the route's summary
	request     jsonSchema // the JSON body it takes; nil: none
	form        bool       // request is a multipart/form-data body, not JSON
	status      int        // the success status
	orCreated   bool       // answers 201 instead of status when it creates the thing
	response    jsonSchema // the success body; nil: none
	media       string     // the success body's media type; empty: application/json
	more        []int      // other success statuses, with the same body
	anyUser     bool       // every authenticated caller may call it: never 403
	errors      []int      // error statuses besides those the route's shape implies
}

// openapiTags are the groups of operations, in the order the document lists them.
var openapiTags = []struct{ name, description string }{
	{"operations", "Health, readiness, metrics and this document"},
	{"identity", "Logging in, users and global roles"},
	{"spaces", "Spaces and their members"},
	{"authz", "The authorization policy"},
	{"content", "Posts, news, pages, comments, the feed and search"},
	{"documents", "Files with versions, streamed up and down"},
	{"plugins", "Features that plugins add, and their management"},
}

// operationDocs describes every route, keyed like Routes ("METHOD /path/:param"). A
// test fails when a route is missing here or an entry names no route.
func operationDocs() map[string]opDoc {
	ok := func(resp jsonSchema) opDoc { return opDoc{status: http.StatusOK, response: resp} }
	noContent := opDoc{status: http.StatusNoContent}
	conflict := []int{http.StatusConflict}

	groups := map[string]map[string]opDoc{
		"operations": {
			"GET /healthz": ok(jsRef("Health")),
			"GET /readyz": {status: http.StatusOK, response: jsRef("Readiness"), errors: []int{http.StatusServiceUnavailable},
				description: "Asks every configured backend (SQL, blob store, Redis) at once; a 503 problem's checks say which failed."},
			"GET /metrics":             {status: http.StatusOK, response: jsString("Prometheus text exposition format"), media: "text/plain"},
			"GET /api/v1/openapi.json": ok(jsonSchema{"type": "object", "description": "An OpenAPI 3.1 document"}),
		},
		"identity": {
			"POST /api/v1/auth/login": {status: http.StatusOK, response: jsRef("Session"),
				request: jsInput(map[string]jsonSchema{"email": jsString(""), "password": jsString("")}, "email", "password"),
				errors:  []int{http.StatusUnauthorized, http.StatusTooManyRequests},
				description: "Wrong credentials answer 401 invalid_credentials. Failed logins are limited per client address " +
					"and per account; past the limit the answer is 429 with Retry-After."},
			"POST /api/v1/auth/logout": {status: http.StatusNoContent, anyUser: true},
			"GET /api/v1/me":           {status: http.StatusOK, response: jsRef("Me"), anyUser: true},
			"PUT /api/v1/me/password": {status: http.StatusNoContent,
				request: jsInput(map[string]jsonSchema{"current": jsString(""), "new": passwordSchema()}, "current", "new"),
				errors:  []int{http.StatusTooManyRequests},
				description: "A wrong current password answers 403 invalid_credentials; repeated failures are limited like logins. " +
					"Success revokes the caller's other tokens."},
			"GET /api/v1/users": ok(jsList(jsRef("User"))),
			"POST /api/v1/users": {status: http.StatusCreated, response: jsRef("User"), errors: conflict,
				request: jsInput(map[string]jsonSchema{
					"email":    jsString(""),
					"name":     jsString(""),
					"password": passwordSchema(),
					"roles":    jsStrings(),
				}, "email", "name", "password"),
				description: "A taken email answers 409. Only admins give the admin and manager roles."},
			"GET /api/v1/users/:id": ok(jsRef("User")),
			"PATCH /api/v1/users/:id": {status: http.StatusOK, response: jsRef("User"), errors: conflict,
				request: jsInput(map[string]jsonSchema{
					"email":    jsString(""),
					"name":     jsString(""),
					"password": passwordSchema(),
					"disabled": jsBoolean(""),
				}),
				description: "Only the fields present change. Disabling a user or setting their password revokes their tokens; " +
					"disabling the last enabled admin answers 409."},
			"DELETE /api/v1/users/:id": {status: http.StatusNoContent, errors: conflict,
				description: "Deleting the last enabled admin answers 409."},
			"PUT /api/v1/users/:id/roles": {status: http.StatusOK, response: jsRef("User"), errors: conflict,
				request:     jsInput(map[string]jsonSchema{"roles": jsArray(jsString("A role name"))}, "roles"),
				description: "Replaces every role; an empty array removes them all. Taking admin from the last enabled admin answers 409."},
			"GET /api/v1/roles": ok(jsList(jsRef("Role"))),
			"POST /api/v1/roles": {status: http.StatusCreated, response: jsRef("Role"), errors: conflict,
				request: jsInput(map[string]jsonSchema{
					"name":        jsonSchema{"type": "string", "pattern": "^[a-z][a-z0-9-]{1,63}$"},
					"title":       jsString("Defaults to the name"),
					"description": jsString(""),
				}, "name"),
				description: "A role that exists answers 409."},
			"PATCH /api/v1/roles/:name": {status: http.StatusOK, response: jsRef("Role"),
				request: jsInput(map[string]jsonSchema{"title": jsString(""), "description": jsString("")})},
			"DELETE /api/v1/roles/:name": {status: http.StatusNoContent, errors: conflict,
				description: "A built-in role, or one that opens spaces, answers 409."},
		},
		"spaces": {
			"GET /api/v1/spaces": ok(jsList(jsRef("Space"))),
			"POST /api/v1/spaces": {status: http.StatusCreated, response: jsRef("Space"),
				request: jsInput(map[string]jsonSchema{
					"name":        jsString(""),
					"description": jsString(""),
					"visibility":  withDefault(visibilityEnum(""), "members"),
					"roles":       jsArray(jsString("A role whose holders may read the space; only for open spaces")),
				}, "name"),
				description: "The caller becomes the space's owner."},
			"GET /api/v1/spaces/:id": ok(jsRef("Space")),
			"PATCH /api/v1/spaces/:id": {status: http.StatusOK, response: jsRef("Space"),
				request: jsInput(map[string]jsonSchema{
					"name":        jsString(""),
					"description": jsString(""),
					"visibility":  visibilityEnum(""),
					"roles":       jsStrings(),
				}),
				description: "Only the fields present change. Making a space not open drops its roles."},
			"DELETE /api/v1/spaces/:id":      noContent,
			"GET /api/v1/spaces/:id/members": ok(jsList(jsRef("Member"))),
			"PUT /api/v1/spaces/:id/members/:user_id": {status: http.StatusOK, orCreated: true, response: jsRef("Membership"), errors: conflict,
				request:     jsInput(map[string]jsonSchema{"role": spaceRoleEnum("")}, "role"),
				description: "201 when the user was not a member, 200 when their role changed. Leaving the space without an owner answers 409."},
			"DELETE /api/v1/spaces/:id/members/:user_id": {status: http.StatusNoContent, errors: conflict,
				description: "Removing the last owner answers 409."},
		},
		"authz": {
			"GET /api/v1/admin/policies": ok(jsRef("Policy")),
			"PUT /api/v1/admin/policies": {status: http.StatusOK, response: jsRef("Policy"), request: jsRef("Policy"),
				description: "Replaces the whole policy and answers the new one. The line p, admin, *, *, * is always kept."},
		},
		"content": {
			"POST /api/v1/spaces/:id/posts": {status: http.StatusCreated, response: jsRef("Item"),
				request: jsInput(map[string]jsonSchema{
					"title": jsString(""),
					"body":  jsString(""),
					"kind":  withDefault(jsEnum("", "post", "news"), "post"),
				}, "body")},
			"POST /api/v1/spaces/:id/pages": {status: http.StatusCreated, response: jsRef("Item"),
				request: jsInput(map[string]jsonSchema{
					"title":     jsString(""),
					"body":      jsString(""),
					"parent_id": jsNullable(jsString("The parent page; null or absent: the top of the tree")),
					"position":  withMinimum0(jsInteger("The place among its siblings")),
				}, "title", "body")},
			"GET /api/v1/spaces/:id/pages": {status: http.StatusOK, response: jsList(jsRef("PageNode")),
				description: "The top-level pages with their children nested; the whole tree, so next_cursor is always null."},
			"GET /api/v1/items/:id": ok(jsRef("Item")),
			"PATCH /api/v1/items/:id": {status: http.StatusOK, response: jsRef("Item"),
				request: jsInput(map[string]jsonSchema{
					"title":     jsString(""),
					"body":      jsString(""),
					"kind":      jsEnum("Posts and news only", "post", "news"),
					"parent_id": jsNullable(jsString("Pages only: moves the page under another page; null: to the top of the tree")),
					"position":  withMinimum0(jsInteger("The page's place among its siblings")),
				}),
				description: "Only the fields present change."},
			"DELETE /api/v1/items/:id":       noContent,
			"GET /api/v1/items/:id/comments": ok(jsList(jsRef("Comment"))),
			"POST /api/v1/items/:id/comments": {status: http.StatusCreated, response: jsRef("Comment"),
				request: jsInput(map[string]jsonSchema{"body": jsString(""), "parent_id": jsNullable(jsString("The comment on this item this one answers"))}, "body")},
			"PATCH /api/v1/comments/:id": {status: http.StatusOK, response: jsRef("Comment"),
				request: jsInput(map[string]jsonSchema{"body": jsString("")}, "body")},
			"DELETE /api/v1/comments/:id": noContent,
			"GET /api/v1/feed": {status: http.StatusOK, response: jsList(jsRef("Item")), errors: []int{http.StatusNotFound},
				description: "Newest first. A ?space= the caller may not read answers 403 or 404, not an empty list."},
			"GET /api/v1/search": {status: http.StatusOK, response: jsList(jsRef("SearchHit")), errors: []int{http.StatusNotFound},
				description: "Best match first. A ?space= the caller may not read answers 403 or 404, not an empty list."},
		},
		"plugins": {
			"GET /api/v1/features": ok(jsList(jsRef("Feature"))),
			"GET /api/v1/admin/plugins": {status: http.StatusOK, response: jsList(jsRef("PluginStatus")),
				description: "Managers. Every binary in the plugin directory, with its desired state and its state on this server."},
			"GET /api/v1/admin/plugins/:name": ok(jsRef("PluginStatus")),
			"PUT /api/v1/admin/plugins/:name": {status: http.StatusOK, response: jsRef("PluginStatus"),
				request: jsInput(map[string]jsonSchema{
					"enabled":  jsBoolean(""),
					"spaces":   jsNullable(jsArray(jsString("A space id"))),
					"roles":    jsNullable(jsArray(jsString("A role name"))),
					"settings": jsonSchema{"type": "object", "description": "As the plugin's settings_schema says; changing them restarts it"},
				}),
				description: "Only the fields present change; spaces or roles null means every space or every role. Applied at " +
					"once on every server. Disabling stops the process and keeps its data."},
			"POST /api/v1/admin/plugins/:name/approve": {status: http.StatusOK, response: jsRef("PluginStatus"),
				description: "A binary whose SHA-256 changed since it was installed is refused until a manager approves it."},
			"POST /api/v1/admin/plugins/:name/reset": {status: http.StatusOK, response: jsRef("PluginStatus"),
				description: "A plugin that crashed three times in ten minutes is failed until a manager resets it."},
		},
		"documents": {
			"POST /api/v1/spaces/:id/documents": {status: http.StatusCreated, response: jsRef("Document"), form: true,
				request: uploadFormSchema(true), errors: []int{http.StatusServiceUnavailable},
				description: "The file streams to the store as it arrives. Its Content-Type comes from its bytes, not the client; " +
					"its name is made safe. A file over the upload limit answers 413, even mid-stream; a store that does not " +
					"answer, 503, and nothing is kept."},
			"GET /api/v1/documents/:id": ok(jsRef("Document")),
			"GET /api/v1/documents/:id/content": {status: http.StatusOK, response: jsonSchema{"type": "string", "format": "binary"},
				media: "application/octet-stream", more: []int{http.StatusPartialContent, http.StatusFound, http.StatusNotModified},
				errors: []int{http.StatusRequestedRangeNotSatisfiable, http.StatusServiceUnavailable},
				description: "The current version, or ?version=n. Answers with the sniffed Content-Type, a Content-Disposition " +
					"(inline for images, PDF, plain text, audio and video unless ?download=true; attachment otherwise), " +
					"X-Content-Type-Options: nosniff, a sandboxing Content-Security-Policy and a strong ETag (the SHA-256). " +
					"Range (one range) answers 206; If-None-Match, 304. With presigned downloads on, 302 to the store."},
			"POST /api/v1/documents/:id/versions": {status: http.StatusCreated, response: jsRef("Document"), form: true,
				request: uploadFormSchema(false), errors: []int{http.StatusServiceUnavailable},
				description: "The document's author or a moderator of its space. The new version becomes the current one."},
			"DELETE /api/v1/documents/:id": {status: http.StatusNoContent,
				description: "Moves the document to the trash: gone from every read at once, restorable until it is purged."},
			"GET /api/v1/spaces/:id/trash": {status: http.StatusOK, response: jsList(jsRef("TrashedItem")),
				description: "For those who moderate the space. Most recently deleted first; each is purged with its bytes " +
					"when the trash retention has passed."},
			"POST /api/v1/documents/:id/restore": {status: http.StatusOK, response: jsRef("Document"),
				description: "Its author or a moderator of its space, while it is in the trash."},
		},
	}
	for _, m := range pluginMethods {
		groups["plugins"][m+" "+pluginPrefix+":name/*"] = opDoc{status: http.StatusOK, anyUser: true,
			response: jsonSchema{"type": "string", "format": "binary", "description": "Whatever the plugin answers"}, media: "*/*",
			errors: []int{http.StatusServiceUnavailable},
			description: "Forwarded to the plugin after the server has authenticated the caller and checked the route's " +
				"permission; credentials are not passed on. 404 feature_disabled when the plugin is off for the caller, " +
				"503 plugin_unavailable while it is down."}
	}
	docs := map[string]opDoc{}
	for tag, group := range groups {
		for key, d := range group {
			d.tag = tag
			docs[key] = d
		}
	}
	return docs
}

// problemDoc is a shared problem response of components/responses.
type problemDoc struct {
	name, description string
	headers           map[string]jsonSchema // headers it sets
}

// problemDocs are the problem responses operations refer to, by status.
var problemDocs = map[int]problemDoc{
	http.StatusBadRequest:            {"BadRequest", "The request is malformed or fails validation, or has an unknown query parameter; errors names the inputs.", nil},
	http.StatusUnauthorized:          {"Unauthorized", "No valid bearer token, or on login wrong credentials.", map[string]jsonSchema{fiber.HeaderWWWAuthenticate: jsString("")}},
	http.StatusForbidden:             {"Forbidden", "The caller may not do this.", nil},
	http.StatusNotFound:              {"NotFound", "No such thing, or the caller may not know it exists.", nil},
	http.StatusConflict:              {"Conflict", "The current state does not allow this.", nil},
	http.StatusRequestEntityTooLarge: {"PayloadTooLarge", "The request body is over the server's limit.", nil},
	http.StatusUnsupportedMediaType:  {"UnsupportedMediaType", "The body is not of the media type the operation takes (application/json, or multipart/form-data for uploads).", nil},
	http.StatusRequestedRangeNotSatisfiable: {"RangeNotSatisfiable", "The Range starts past the end of the file.",
		map[string]jsonSchema{fiber.HeaderContentRange: jsString("bytes */<size>")}},
	http.StatusTooManyRequests:    {"TooManyRequests", "Too many attempts.", map[string]jsonSchema{fiber.HeaderRetryAfter: jsInteger("Seconds to wait before trying again")}},
	http.StatusServiceUnavailable: {"Unavailable", "A backend does not answer; on /readyz, checks says which.", nil},
}

// openapiDocument builds the document from the route table and operationDocs.
func (s *Server) openapiDocument() map[string]any {
	docs := operationDocs()
	paths := map[string]map[string]any{}
	for _, r := range s.routeTable() {
		p := openapiPath(r.path)
		if paths[p] == nil {
			paths[p] = map[string]any{}
		}
		paths[p][strings.ToLower(r.method)] = openapiOperation(r, docs[r.method+" "+r.path])
	}

	responses := map[string]any{}
	for _, pd := range problemDocs {
		resp := map[string]any{
			"description": pd.description,
			"content":     map[string]any{problemJSON: map[string]any{"schema": jsRef("Problem")}},
		}
		if len(pd.headers) > 0 {
			headers := map[string]any{}
			for name, schema := range pd.headers {
				headers[name] = map[string]any{"schema": schema}
			}
			resp["headers"] = headers
		}
		responses[pd.name] = resp
	}

	tags := make([]map[string]string, len(openapiTags))
	for i, t := range openapiTags {
		tags[i] = map[string]string{"name": t.name, "description": t.description}
	}
	version := s.version
	if version == "" {
		version = "unknown"
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":   "Plein API",
			"version": version,
			"description": "JSON in and out; timestamps are RFC 3339 UTC; ids are opaque strings. Errors are RFC 9457 problems " +
				"(application/problem+json) with a stable machine code. Lists take ?limit= (1 to " + strconv.Itoa(maxLimit) +
				", default " + strconv.Itoa(defaultLimit) + ") and ?cursor= and answer {\"items\": [...], \"next_cursor\": ...}; " +
				"an unknown query parameter is a 400.",
		},
		"servers": []map[string]string{{"url": "/"}},
		"tags":    tags,
		"paths":   paths,
		"components": map[string]any{
			"schemas":   componentSchemas(),
			"responses": responses,
			"securitySchemes": map[string]any{
				"bearerAuth": map[string]any{
					"type":        "http",
					"scheme":      "bearer",
					"description": "An opaque token from POST /api/v1/auth/login",
				},
			},
		},
	}
}

// openapiOperation documents one route.
func openapiOperation(r route, d opDoc) map[string]any {
	op := map[string]any{
		"operationId": operationID(r.method, r.path),
		"summary":     r.summary,
		"security":    []map[string][]string{},
	}
	if r.auth {
		op["security"] = []map[string][]string{{"bearerAuth": {}}}
	}
	if d.tag != "" {
		op["tags"] = []string{d.tag}
	}
	if d.description != "" {
		op["description"] = d.description
	}

	var params []map[string]any
	for _, name := range routeParams(r.path) {
		params = append(params, pathParamDoc(r.path, name))
	}
	for _, name := range documentedQuery(r) {
		params = append(params, queryParamDoc(name))
	}
	if len(params) > 0 {
		op["parameters"] = params
	}

	if d.request != nil {
		media := fiber.MIMEApplicationJSON
		if d.form {
			media = fiber.MIMEMultipartForm
		}
		op["requestBody"] = map[string]any{
			"required": true,
			"content":  map[string]any{media: map[string]any{"schema": d.request}},
		}
	}

	responses := map[string]any{}
	if d.status == 0 { // not in operationDocs: say only what every route says
		responses["default"] = map[string]any{"description": "Undocumented"}
	} else {
		success := map[string]any{"description": http.StatusText(d.status)}
		if d.response != nil {
			media := cmp.Or(d.media, fiber.MIMEApplicationJSON)
			success["content"] = map[string]any{media: map[string]any{"schema": d.response}}
		}
		responses[strconv.Itoa(d.status)] = success
		if d.orCreated {
			d.more = append(d.more, http.StatusCreated)
		}
		for _, st := range d.more {
			other := maps.Clone(success)
			other["description"] = http.StatusText(st)
			if st >= 300 {
				delete(other, "content")
			}
			responses[strconv.Itoa(st)] = other
		}
	}
	for _, status := range problemStatuses(r, d) {
		responses[strconv.Itoa(status)] = map[string]any{"$ref": "#/components/responses/" + problemDocs[status].name}
	}
	op["responses"] = responses
	return op
}

// problemStatuses lists the problems a route may answer: those its shape implies and
// those its doc adds.
func problemStatuses(r route, d opDoc) []int {
	set := map[int]bool{}
	for _, st := range d.errors {
		set[st] = true
	}
	if d.request != nil {
		set[http.StatusBadRequest] = true
		set[http.StatusRequestEntityTooLarge] = true
		set[http.StatusUnsupportedMediaType] = true
	}
	if len(documentedQuery(r)) > 0 {
		set[http.StatusBadRequest] = true
	}
	if r.auth {
		set[http.StatusUnauthorized] = true
		if !d.anyUser {
			set[http.StatusForbidden] = true
		}
	}
	if len(routeParams(r.path)) > 0 {
		set[http.StatusNotFound] = true
	}
	return slices.Sorted(maps.Keys(set))
}

// documentedQuery is a route's query parameters as the document lists them: none for
// a route that takes any (a plugin's).
func documentedQuery(r route) []string {
	if isAnyQuery(r.query) {
		return nil
	}
	return r.query
}

// openapiPath turns Fiber's /users/:id into OpenAPI's /users/{id}.
func openapiPath(path string) string {
	segs := strings.Split(path, "/")
	for i, seg := range segs {
		if name, ok := strings.CutPrefix(seg, ":"); ok {
			segs[i] = "{" + name + "}"
		}
	}
	return strings.Join(segs, "/")
}

// routeParams returns the names of a Fiber path's parameters, in order.
func routeParams(path string) []string {
	var names []string
	for seg := range strings.SplitSeq(path, "/") {
		if name, ok := strings.CutPrefix(seg, ":"); ok {
			names = append(names, name)
		}
	}
	return names
}

// pathParamDoc documents parameter name of path, naming it after the collection
// before it: /spaces/:id/members/:user_id has "the space's id" and "the member's user id".
func pathParamDoc(path, name string) map[string]any {
	desc := strings.ReplaceAll(name, "_", " ")
	segs := strings.Split(path, "/")
	if i := slices.Index(segs, ":"+name); i > 0 {
		desc = "The " + strings.TrimSuffix(segs[i-1], "s") + "'s " + desc
	}
	return map[string]any{"name": name, "in": "path", "required": true, "description": desc, "schema": jsString("")}
}

// queryParamDocs describe the query parameters routes take, by name.
var queryParamDocs = map[string]string{
	"limit":  "How many items a page holds",
	"cursor": "The next_cursor of the previous page; absent: the first page",
	"role":   "Only users who hold this role",
	"space":  "Only items of this space (its id)",
	"kind":   `Only items of this kind: "post", "news", "page", or a plugin's kind`,
	"tag":    "Only items with this tag",
	"q":      "The words to search for",
}

// queryParamDoc documents query parameter name: a string, but for limit.
func queryParamDoc(name string) map[string]any {
	p := map[string]any{"name": name, "in": "query", "schema": jsString("")}
	if desc := queryParamDocs[name]; desc != "" {
		p["description"] = desc
	}
	switch name {
	case "limit":
		p["schema"] = jsonSchema{"type": "integer", "minimum": 1, "maximum": maxLimit, "default": defaultLimit}
	case "q":
		p["required"] = true
	}
	return p
}

// operationID names an operation after its method and path: GET /api/v1/users/:id is
// getUsersById.
func operationID(method, path string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	for seg := range strings.SplitSeq(strings.TrimPrefix(path, "/api/v1"), "/") {
		if name, ok := strings.CutPrefix(seg, ":"); ok {
			b.WriteString("By")
			seg = name
		}
		for _, w := range strings.FieldsFunc(seg, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
	}
	return b.String()
}
