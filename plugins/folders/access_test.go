package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pleinhq/plein/sdk"
	"github.com/pleinhq/plein/sdk/plugintest"
)

// Every route that names a node, as someone who is neither its owner nor a grantee:
// 404, and nothing of the node in the answer.
func TestOthersNeverSeeAnything(t *testing.T) {
	f := start(t, "")
	dir := f.mkdir(ann, "", "Geheim-map")
	file := f.mustUpload(ann, dir.ID, "geheim-bestand.txt", []byte("geheim"))
	f.do(ann, "PUT", "/files/"+file.ID+"/shares", map[string]any{"users": []string{"bob"}})
	for _, req := range []struct {
		method, target string
		body           any
	}{
		{"GET", "/folders/" + dir.ID, nil},
		{"PATCH", "/folders/" + dir.ID, map[string]any{"name": "x"}},
		{"DELETE", "/folders/" + dir.ID, nil},
		{"GET", "/folders/" + dir.ID + "/items", nil},
		{"GET", "/folders/" + dir.ID + "/shares", nil},
		{"PUT", "/folders/" + dir.ID + "/shares", map[string]any{"users": []string{"carol"}}},
		{"DELETE", "/folders/" + dir.ID + "/shares", nil},
		{"GET", "/files/" + file.ID, nil},
		{"PATCH", "/files/" + file.ID, map[string]any{"name": "x"}},
		{"DELETE", "/files/" + file.ID, nil},
		{"GET", "/files/" + file.ID + "/content", nil},
		{"GET", "/files/" + file.ID + "/shares", nil},
		{"PUT", "/files/" + file.ID + "/shares", map[string]any{"users": []string{"carol"}}},
		{"DELETE", "/files/" + file.ID + "/shares", nil},
		// A folder id as a file and the other way round.
		{"GET", "/files/" + dir.ID, nil},
		{"GET", "/folders/" + file.ID + "/items", nil},
	} {
		for _, u := range []plugintest.User{carol, ext} {
			r := f.do(u, req.method, req.target, req.body)
			if r.status != 404 || r.problem(t).Code != "not_found" || bytes.Contains(r.body, []byte("geheim")) {
				t.Errorf("%s %s %s: %d %s", u.ID, req.method, req.target, r.status, r.body)
			}
		}
	}
	for _, u := range []plugintest.User{carol, ext} {
		if f.finds(u, "geheim", file.ID) || f.finds(u, "geheim", dir.ID) || len(f.sharedWith(u)) != 0 {
			t.Errorf("%s finds ann's things", u.ID)
		}
		if r := f.upload(u, dir.ID, "x.txt", []byte("x")); r.status != 404 {
			t.Errorf("%s uploads into ann's folder: %d", u.ID, r.status)
		}
		if r := f.do(u, "POST", "/folders", map[string]any{"name": "x", "parent_id": dir.ID}); r.status != 404 {
			t.Errorf("%s creates in ann's folder: %d", u.ID, r.status)
		}
	}
	// Bob reads the file shared with him, not the folder around it.
	if !f.reads(bob, file.ID) || f.do(bob, "GET", "/folders/"+dir.ID, nil).status != 404 {
		t.Error("bob's access")
	}
	if !f.reads(ann, file.ID) {
		t.Fatal("the refused requests changed something")
	}
}

func TestBadRequestsGetProblems(t *testing.T) {
	f := start(t, "")
	file := f.mustUpload(ann, "", "a.txt", []byte("a"))
	tests := []struct {
		user   plugintest.User
		method string
		target string
		body   string
		status int
		code   string
	}{
		{plugintest.User{}, "GET", "/me", "", 401, "unauthenticated"},
		{ann, "GET", "/me?x=1", "", 400, "validation_failed"},
		{ann, "GET", "/me/items?limit=0", "", 400, "validation_failed"},
		{ann, "GET", "/me/items?limit=101", "", 400, "validation_failed"},
		{ann, "GET", "/me/items?cursor=%21%21", "", 400, "validation_failed"},
		{ann, "GET", "/shared-with-me?cursor=YWJj", "", 400, "validation_failed"},
		{ann, "GET", "/search", "", 400, "validation_failed"},
		{ann, "GET", "/search?q=" + strings.Repeat("a", 101), "", 400, "validation_failed"},
		{ann, "GET", "/search?q=a&sort=name", "", 400, "validation_failed"},
		{ann, "GET", "/files/" + file.ID + "/content?download=maybe", "", 400, "validation_failed"},
		{ann, "GET", "/files/not-an-id", "", 404, "not_found"},
		{ann, "GET", "/files/%FF", "", 404, "not_found"},
		{ann, "POST", "/folders", `{"name":""}`, 400, "validation_failed"},
		{ann, "POST", "/folders", `{"name":".."}`, 400, "validation_failed"},
		{ann, "POST", "/folders", `{"name":"a/b"}`, 400, "validation_failed"},
		{ann, "POST", "/folders", `{"name":"` + strings.Repeat("a", 256) + `"}`, 400, "validation_failed"},
		{ann, "POST", "/folders", `{"name":"a","colour":"red"}`, 400, "validation_failed"},
		{ann, "POST", "/folders", `{"name":"a"} {}`, 400, "validation_failed"},
		{ann, "POST", "/folders", "\xff", 400, "validation_failed"},
		{ann, "POST", "/folders", `{"name":"a","parent_id":"nope"}`, 404, "not_found"},
		{ann, "PATCH", "/files/" + file.ID, `{"parent_id":5}`, 400, "validation_failed"},
		{ann, "PATCH", "/files/" + file.ID, `{"name":"\u0007"}`, 400, "validation_failed"},
		{ann, "POST", "/me/files", "x", 415, "unsupported_media_type"},
		{ann, "PUT", "/me", "", 404, "not_found"},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
		r := f.send(tt.user, req)
		var p sdk.Problem
		if err := json.Unmarshal(r.body, &p); err != nil || r.status != tt.status || p.Code != tt.code {
			t.Errorf("%s %.60s: %d %s, want %d %s", tt.method, tt.target, r.status, r.body, tt.status, tt.code)
		}
	}
}

func TestBadUploadFormsGetProblems(t *testing.T) {
	f := start(t, "")
	send := func(fields map[string]string, filename string, data []byte) reply {
		body, ct := form(t, fields, filename, data)
		req := httptest.NewRequest("POST", "/me/files", body)
		req.Header.Set("Content-Type", ct)
		return f.send(ann, req)
	}
	for name, r := range map[string]reply{
		"no file":       send(map[string]string{"name": "a.txt"}, "", nil),
		"unknown field": send(map[string]string{"colour": "red"}, "a.txt", []byte("a")),
		"long name":     send(map[string]string{"name": strings.Repeat("a", 2000)}, "a.txt", []byte("a")),
		"bad name":      send(map[string]string{"name": "a\x01b"}, "a.txt", []byte("a")),
		"broken body":   f.send(ann, brokenUpload()),
	} {
		if r.status != 400 || r.problem(t).Code != "validation_failed" {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	if m := f.me(ann); m.Quota.Used != 0 || len(f.KVKeys("f/")) != 0 {
		t.Fatalf("a refused upload kept something: %+v", m)
	}
}

// brokenUpload is an upload whose body ends in the middle of the file.
func brokenUpload() *http.Request {
	body := "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nhalf a fi"
	req := httptest.NewRequest("POST", "/me/files", strings.NewReader(body))
	req.Header.Set("Content-Type", "multipart/form-data; boundary=b")
	return req
}

func TestInvalidSettingsAreRefused(t *testing.T) {
	for _, s := range []string{`{"quota_bytes":-1}`, `{"user_quotas":{"ann":-5}}`, `{"max_folders":0}`,
		`{"deleted_user_grace":"a while"}`, `{"sweep_interval":"10ms"}`, `{"colour":"red"}`, `[]`} {
		if _, err := plugintest.Start(t, New(), plugintest.Options{Settings: json.RawMessage(s)}); !errors.Is(err, sdk.ErrInvalid) {
			t.Errorf("settings %s: %v, want ErrInvalid", s, err)
		}
	}
}
