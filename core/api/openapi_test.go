package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The part of OpenAPI 3.1 the document uses. Decoding the document strictly into these
// types catches misspelt and misplaced keywords.
type (
	oaDoc struct {
		OpenAPI    string                             `json:"openapi"`
		Info       oaInfo                             `json:"info"`
		Servers    []oaServer                         `json:"servers"`
		Tags       []oaTag                            `json:"tags"`
		Paths      map[string]map[string]*oaOperation `json:"paths"`
		Components oaComponents                       `json:"components"`
	}
	oaInfo struct {
		Title       string `json:"title"`
		Version     string `json:"version"`
		Description string `json:"description"`
	}
	oaServer struct {
		URL string `json:"url"`
	}
	oaTag struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	oaComponents struct {
		Schemas         map[string]*oaSchema         `json:"schemas"`
		Responses       map[string]*oaResponse       `json:"responses"`
		SecuritySchemes map[string]*oaSecurityScheme `json:"securitySchemes"`
	}
	oaSecurityScheme struct {
		Type        string `json:"type"`
		Scheme      string `json:"scheme"`
		Description string `json:"description"`
	}
	oaOperation struct {
		OperationID string                 `json:"operationId"`
		Summary     string                 `json:"summary"`
		Description string                 `json:"description"`
		Tags        []string               `json:"tags"`
		Security    *[]map[string][]string `json:"security"` // nil when absent, which would inherit
		Parameters  []*oaParameter         `json:"parameters"`
		RequestBody *oaRequestBody         `json:"requestBody"`
		Responses   map[string]*oaResponse `json:"responses"`
	}
	oaParameter struct {
		Name        string    `json:"name"`
		In          string    `json:"in"`
		Description string    `json:"description"`
		Required    bool      `json:"required"`
		Schema      *oaSchema `json:"schema"`
	}
	oaRequestBody struct {
		Required bool                `json:"required"`
		Content  map[string]*oaMedia `json:"content"`
	}
	oaMedia struct {
		Schema *oaSchema `json:"schema"`
	}
	oaResponse struct {
		Ref         string               `json:"$ref"`
		Description string               `json:"description"`
		Headers     map[string]*oaHeader `json:"headers"`
		Content     map[string]*oaMedia  `json:"content"`
	}
	oaHeader struct {
		Schema *oaSchema `json:"schema"`
	}
	oaSchema struct {
		Ref                  string               `json:"$ref"`
		Type                 oaTypes              `json:"type"`
		Format               string               `json:"format"`
		Description          string               `json:"description"`
		Pattern              string               `json:"pattern"`
		Enum                 []any                `json:"enum"`
		Default              any                  `json:"default"`
		Properties           map[string]*oaSchema `json:"properties"`
		Required             []string             `json:"required"`
		AdditionalProperties json.RawMessage      `json:"additionalProperties"` // a boolean or a schema
		Items                *oaSchema            `json:"items"`
		AllOf                []*oaSchema          `json:"allOf"`
		AnyOf                []*oaSchema          `json:"anyOf"`
		OneOf                []*oaSchema          `json:"oneOf"`
		Minimum              *float64             `json:"minimum"`
		Maximum              *float64             `json:"maximum"`
		MinItems             *int                 `json:"minItems"`
		MaxItems             *int                 `json:"maxItems"`
		MinLength            *int                 `json:"minLength"`
	}
)

// oaTypes is a schema's "type": one name or an array of them.
type oaTypes []string

func (t *oaTypes) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*t = oaTypes{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("type must be a string or an array of strings: %s", b)
	}
	*t = many
	return nil
}

func oaDecodeStrict(data []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(dst)
}

// fetchOpenAPI gets the document the way a client does: without a token.
func fetchOpenAPI(t *testing.T) (*Server, *oaDoc, map[string]any) {
	t.Helper()
	s, _ := newTestServer(t)
	resp, body := do(t, s.App(), httptest.NewRequest("GET", "/api/v1/openapi.json", nil))
	switch resp.StatusCode {
	case 200:
	case 404:
		t.Fatalf("GET /api/v1/openapi.json answers 404: the route is not in routeTable")
	default:
		t.Fatalf("GET /api/v1/openapi.json without a token: %d %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("content type %q, want application/json", ct)
	}
	var doc oaDoc
	if err := oaDecodeStrict(body, &doc); err != nil {
		t.Fatalf("the document does not have OpenAPI's shape: %v", err)
	}
	var raw map[string]any
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	return s, &doc, raw
}

func TestOpenAPIServedWithoutToken(t *testing.T) {
	_, doc, _ := fetchOpenAPI(t)
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
	if doc.Info.Title != "Plein API" || doc.Info.Version != "test" {
		t.Errorf("info %+v, want title Plein API and the server's version", doc.Info)
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != "/" {
		t.Errorf("servers %+v, want one with url /", doc.Servers)
	}
	bearer := doc.Components.SecuritySchemes["bearerAuth"]
	if bearer == nil || bearer.Type != "http" || bearer.Scheme != "bearer" {
		t.Errorf("securitySchemes.bearerAuth %+v, want HTTP bearer", bearer)
	}
}

// TestOpenAPIDescribesEveryRoute keeps operationDocs and the route table in step, so
// that no route goes without its request and response shapes.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	s, _ := newTestServer(t)
	docs := operationDocs()
	registered := map[string]bool{}
	for _, r := range s.routeTable() {
		key := r.method + " " + r.path
		registered[key] = true
		if _, ok := docs[key]; !ok {
			t.Errorf("%s is registered but has no entry in operationDocs", key)
		}
	}
	for _, key := range slices.Sorted(maps.Keys(docs)) {
		if !registered[key] {
			t.Errorf("%s is in operationDocs but not registered", key)
		}
		d := docs[key]
		if d.status < 200 || d.status > 299 {
			t.Errorf("%s: success status %d", key, d.status)
		}
		if (d.status == 204) != (d.response == nil) {
			t.Errorf("%s: status %d with response %v; a body goes with every status but 204", key, d.status, d.response)
		}
		for _, st := range d.errors {
			if _, ok := problemDocs[st]; !ok {
				t.Errorf("%s: error status %d has no shared problem response", key, st)
			}
		}
	}
}

func TestOpenAPIDocumentsExactlyTheRegisteredRoutes(t *testing.T) {
	s, doc, _ := fetchOpenAPI(t)
	documented := map[string]bool{}
	for path, item := range doc.Paths {
		for method := range item {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	// What the router answers, not just what the table says.
	registered := map[string]bool{}
	for _, r := range s.App().GetRoutes(true) {
		if r.Method == "HEAD" {
			continue
		}
		registered[r.Method+" "+openapiPath(r.Path)] = true
	}
	for _, r := range s.routeTable() {
		if !registered[r.method+" "+openapiPath(r.path)] {
			t.Errorf("%s %s is in routeTable but not in the router", r.method, r.path)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(registered)) {
		if !documented[name] {
			t.Errorf("%s is registered but not documented", name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(documented)) {
		if !registered[name] {
			t.Errorf("%s is documented but not registered", name)
		}
	}
}

func TestOpenAPIOperationsMatchTheirRoutes(t *testing.T) {
	s, doc, _ := fetchOpenAPI(t)
	docs := operationDocs()
	tags := map[string]bool{}
	for _, tag := range doc.Tags {
		tags[tag.Name] = true
	}
	ids := map[string]string{}
	for _, r := range s.routeTable() {
		name := r.method + " " + r.path
		op := doc.Paths[openapiPath(r.path)][strings.ToLower(r.method)]
		if op == nil {
			t.Errorf("%s: not documented", name)
			continue
		}
		if op.Summary == "" || op.Summary != r.summary {
			t.Errorf("%s: summary %q, want the route's %q", name, op.Summary, r.summary)
		}
		if op.OperationID == "" {
			t.Errorf("%s: no operationId", name)
		} else if other, dup := ids[op.OperationID]; dup {
			t.Errorf("%s: operationId %q is also %s's", name, op.OperationID, other)
		}
		ids[op.OperationID] = name
		for _, tag := range op.Tags {
			if !tags[tag] {
				t.Errorf("%s: tag %q is not among the document's tags", name, tag)
			}
		}

		switch {
		case op.Security == nil:
			t.Errorf("%s: no security; every operation says whether it needs a token", name)
		case r.auth && !oaOnlyBearer(*op.Security):
			t.Errorf("%s: security %v, want [{bearerAuth: []}]", name, *op.Security)
		case !r.auth && len(*op.Security) != 0:
			t.Errorf("%s: public, but security %v", name, *op.Security)
		}

		oaCheckParameters(t, name, r, op)

		if len(op.Responses) == 0 {
			t.Errorf("%s: no responses", name)
		}
		success := 0
		for code, resp := range op.Responses {
			status, err := strconv.Atoi(code)
			if err != nil || status < 100 || status > 599 {
				t.Errorf("%s: response %q is not an HTTP status", name, code)
				continue
			}
			if status < 300 {
				success++
			}
			if status >= 400 && !strings.HasPrefix(resp.Ref, "#/components/responses/") {
				t.Errorf("%s: %d is not a shared problem response", name, status)
			}
			oaCheckResponse(t, fmt.Sprintf("%s: %d", name, status), resp, doc)
		}
		if success == 0 {
			t.Errorf("%s: no success response", name)
		}
		want := map[int]bool{}
		if r.auth {
			want[401] = true
		}
		if len(routeParams(r.path)) > 0 {
			want[404] = true
		}
		if len(documentedQuery(r)) > 0 || op.RequestBody != nil {
			want[400] = true
		}
		if op.RequestBody != nil {
			want[413] = true
		}
		if name == "POST /api/v1/auth/login" {
			want[401], want[429] = true, true
		}
		for status := range want {
			if op.Responses[strconv.Itoa(status)] == nil {
				t.Errorf("%s: %d is not documented", name, status)
			}
		}

		if body := op.RequestBody; body != nil {
			want := "application/json"
			if docs[name].form {
				want = "multipart/form-data"
			}
			media := body.Content[want]
			if !body.Required || len(body.Content) != 1 || media == nil || media.Schema == nil {
				t.Errorf("%s: requestBody must be a required %s body with a schema", name, want)
			} else {
				oaCheckSchema(t, name+": requestBody", media.Schema, doc)
			}
		}
		if d := docs[name]; (d.request != nil) != (op.RequestBody != nil) {
			t.Errorf("%s: operationDocs has request %v, document has requestBody %v", name, d.request, op.RequestBody)
		}
	}
}

// onlyBearer reports whether sec is [{"bearerAuth": []}].
func oaOnlyBearer(sec []map[string][]string) bool {
	if len(sec) != 1 || len(sec[0]) != 1 {
		return false
	}
	scopes, ok := sec[0]["bearerAuth"]
	return ok && len(scopes) == 0
}

// checkParameters wants each of the route's path and query parameters declared once,
// and no others.
func oaCheckParameters(t *testing.T, name string, r route, op *oaOperation) {
	t.Helper()
	var inPath, inQuery []string
	seen := map[string]bool{}
	for _, p := range op.Parameters {
		if seen[p.In+" "+p.Name] {
			t.Errorf("%s: parameter %s declared twice", name, p.Name)
		}
		seen[p.In+" "+p.Name] = true
		if p.Schema == nil {
			t.Errorf("%s: parameter %s has no schema", name, p.Name)
		} else {
			oaCheckSchema(t, name+": parameter "+p.Name, p.Schema, nil)
		}
		switch p.In {
		case "path":
			inPath = append(inPath, p.Name)
			if !p.Required {
				t.Errorf("%s: path parameter %s must be required", name, p.Name)
			}
		case "query":
			inQuery = append(inQuery, p.Name)
			if p.Name == "limit" && (p.Schema == nil || !slices.Equal(p.Schema.Type, oaTypes{"integer"})) {
				t.Errorf("%s: limit must be an integer", name)
			}
		default:
			t.Errorf("%s: parameter %s in %q", name, p.Name, p.In)
		}
	}
	if want := routeParams(r.path); !slices.Equal(inPath, want) {
		t.Errorf("%s: path parameters %v, want %v", name, inPath, want)
	}
	var templated []string
	for _, m := range regexp.MustCompile(`\{([^}]*)\}`).FindAllStringSubmatch(openapiPath(r.path), -1) {
		templated = append(templated, m[1])
	}
	if !slices.Equal(inPath, templated) {
		t.Errorf("%s: path parameters %v, but the path template has %v", name, inPath, templated)
	}
	if want := documentedQuery(r); !slices.Equal(slices.Sorted(slices.Values(inQuery)), slices.Sorted(slices.Values(want))) {
		t.Errorf("%s: query parameters %v, want the route's %v", name, inQuery, want)
	}
}

func oaCheckResponse(t *testing.T, where string, resp *oaResponse, doc *oaDoc) {
	t.Helper()
	if resp.Ref != "" {
		shared := doc.Components.Responses[strings.TrimPrefix(resp.Ref, "#/components/responses/")]
		if !strings.HasPrefix(resp.Ref, "#/components/responses/") || shared == nil {
			t.Errorf("%s: $ref %s names no shared response", where, resp.Ref)
		}
		if resp.Description != "" || resp.Content != nil {
			t.Errorf("%s: a $ref response has nothing beside the $ref", where)
		}
		return
	}
	if resp.Description == "" {
		t.Errorf("%s: a response needs a description", where)
	}
	for media, m := range resp.Content {
		if m.Schema == nil {
			t.Errorf("%s: %s has no schema", where, media)
			continue
		}
		oaCheckSchema(t, where+" "+media, m.Schema, doc)
	}
	for header, h := range resp.Headers {
		if h.Schema == nil {
			t.Errorf("%s: header %s has no schema", where, header)
		}
	}
}

func TestOpenAPIComponentsAreWellFormed(t *testing.T) {
	_, doc, _ := fetchOpenAPI(t)
	for _, name := range []string{"Problem", "User", "Role", "Space", "Membership", "Session", "Me", "Policy", "Item", "Comment", "PageNode", "SearchHit"} {
		if doc.Components.Schemas[name] == nil {
			t.Errorf("components.schemas has no %s", name)
		}
	}
	valid := regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)
	for name, s := range doc.Components.Schemas {
		if !valid.MatchString(name) {
			t.Errorf("schema name %q", name)
		}
		oaCheckSchema(t, "components.schemas."+name, s, doc)
	}
	for name, resp := range doc.Components.Responses {
		where := "components.responses." + name
		oaCheckResponse(t, where, resp, doc)
		m := resp.Content[problemJSON]
		if len(resp.Content) != 1 || m == nil || m.Schema == nil || m.Schema.Ref != "#/components/schemas/Problem" {
			t.Errorf("%s: want %s of the Problem schema", where, problemJSON)
		}
	}
	for status, pd := range problemDocs {
		if doc.Components.Responses[pd.name] == nil {
			t.Errorf("%d: no components.responses.%s", status, pd.name)
		}
	}
	problem := doc.Components.Schemas["Problem"]
	for _, field := range []string{"type", "title", "status", "code"} {
		if !slices.Contains(problem.Required, field) {
			t.Errorf("Problem: %s is not required", field)
		}
	}
}

// TestOpenAPIRefsResolve follows every $ref in the document, wherever it is.
func TestOpenAPIRefsResolve(t *testing.T) {
	_, _, raw := fetchOpenAPI(t)
	refs := 0
	var walk func(where string, v any)
	walk = func(where string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if r, ok := v["$ref"]; ok {
				refs++
				target, ok := r.(string)
				if !ok || !strings.HasPrefix(target, "#/components/") {
					t.Errorf("%s: $ref %v does not point into components", where, r)
				} else if oaResolve(raw, target) == nil {
					t.Errorf("%s: $ref %s resolves to nothing", where, target)
				}
			}
			for k, e := range v {
				walk(where+"/"+k, e)
			}
		case []any:
			for i, e := range v {
				walk(where+"/"+strconv.Itoa(i), e)
			}
		}
	}
	walk("#", raw)
	if refs == 0 {
		t.Fatal("no $ref at all: the walk is broken")
	}
}

// resolvePointer follows a JSON pointer fragment ("#/a/b") in doc, or returns nil.
func oaResolve(doc map[string]any, ref string) any {
	var cur any = doc
	for tok := range strings.SplitSeq(strings.TrimPrefix(ref, "#/"), "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		if cur, ok = m[tok]; !ok {
			return nil
		}
	}
	return cur
}

var oaJSONTypes = []string{"string", "integer", "number", "boolean", "array", "object", "null"}

// checkSchema checks s and the schemas in it for what JSON Schema requires or what would
// surely be a mistake. doc resolves $refs; nil skips them.
func oaCheckSchema(t *testing.T, where string, s *oaSchema, doc *oaDoc) {
	t.Helper()
	if s.Ref != "" {
		if doc != nil && doc.Components.Schemas[strings.TrimPrefix(s.Ref, "#/components/schemas/")] == nil {
			t.Errorf("%s: $ref %s names no schema", where, s.Ref)
		}
		return
	}
	if len(s.Type) == 0 && len(s.AllOf)+len(s.AnyOf)+len(s.OneOf) == 0 {
		t.Errorf("%s: a schema without type, $ref or a combination", where)
	}
	has := func(typ string) bool { return slices.Contains(s.Type, typ) }
	for i, typ := range s.Type {
		if !slices.Contains(oaJSONTypes, typ) {
			t.Errorf("%s: unknown type %q", where, typ)
		}
		if slices.Contains(s.Type[:i], typ) {
			t.Errorf("%s: type %q twice", where, typ)
		}
	}
	if (s.Properties != nil || s.AdditionalProperties != nil) && !has("object") {
		t.Errorf("%s: properties on a schema of type %v", where, s.Type)
	}
	for _, req := range s.Required {
		if s.Properties[req] == nil {
			t.Errorf("%s: required %q is not a property", where, req)
		}
	}
	if has("array") != (s.Items != nil) {
		t.Errorf("%s: type %v with items %v; arrays, and only arrays, say what they hold", where, s.Type, s.Items != nil)
	}
	if (s.MinItems != nil || s.MaxItems != nil) && !has("array") {
		t.Errorf("%s: minItems or maxItems on type %v", where, s.Type)
	}
	if (s.MinLength != nil || s.Pattern != "") && !has("string") {
		t.Errorf("%s: minLength or pattern on type %v", where, s.Type)
	}
	if s.Pattern != "" {
		if _, err := regexp.Compile(s.Pattern); err != nil {
			t.Errorf("%s: pattern: %v", where, err)
		}
	}
	if (s.Minimum != nil || s.Maximum != nil) && !has("integer") && !has("number") {
		t.Errorf("%s: minimum or maximum on type %v", where, s.Type)
	}
	if s.Format != "" && s.Format != "date-time" && s.Format != "binary" {
		t.Errorf("%s: format %q is not one the document uses", where, s.Format)
	}
	for _, v := range s.Enum {
		if !oaValueHasType(v, s.Type) {
			t.Errorf("%s: enum value %v is not of type %v", where, v, s.Type)
		}
	}
	if s.Default != nil {
		if !oaValueHasType(s.Default, s.Type) || s.Enum != nil && !slices.Contains(s.Enum, s.Default) {
			t.Errorf("%s: default %v does not fit the schema", where, s.Default)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(s.Properties)) {
		oaCheckSchema(t, where+"."+name, s.Properties[name], doc)
	}
	if s.Items != nil {
		oaCheckSchema(t, where+"[]", s.Items, doc)
	}
	if s.AdditionalProperties != nil && string(s.AdditionalProperties) != "false" && string(s.AdditionalProperties) != "true" {
		var ap oaSchema
		if err := oaDecodeStrict(s.AdditionalProperties, &ap); err != nil {
			t.Errorf("%s: additionalProperties: %v", where, err)
		} else {
			oaCheckSchema(t, where+"{}", &ap, doc)
		}
	}
	for _, group := range [][]*oaSchema{s.AllOf, s.AnyOf, s.OneOf} {
		for i, sub := range group {
			oaCheckSchema(t, fmt.Sprintf("%s<%d>", where, i), sub, doc)
		}
	}
}

// valueHasType reports whether a decoded JSON value is of one of types (all, if none).
func oaValueHasType(v any, types oaTypes) bool {
	if len(types) == 0 {
		return true
	}
	switch v := v.(type) {
	case nil:
		return slices.Contains(types, "null")
	case string:
		return slices.Contains(types, "string")
	case bool:
		return slices.Contains(types, "boolean")
	case float64:
		return slices.Contains(types, "number") || slices.Contains(types, "integer") && v == float64(int64(v))
	case []any:
		return slices.Contains(types, "array")
	case map[string]any:
		return slices.Contains(types, "object")
	}
	return false
}
