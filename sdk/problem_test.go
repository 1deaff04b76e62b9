package sdk

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestWriteProblemAnswersAnRFC9457Document(t *testing.T) {
	rec := httptest.NewRecorder()
	if err := WriteProblem(rec, http.StatusConflict, "bookmark_limit", "at most 3"); err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusConflict || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("status %d, content type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	var p Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	want := Problem{Type: "urn:plein:problem:bookmark_limit", Title: "Conflict", Status: 409, Detail: "at most 3", Code: "bookmark_limit"}
	if p != want {
		t.Fatalf("problem = %+v, want %+v", p, want)
	}
}

func TestWriteJSONEncodesWithStatus(t *testing.T) {
	rec := httptest.NewRecorder()
	if err := WriteJSON(rec, http.StatusCreated, map[string]int{"count": 3}); err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusCreated || rec.Header().Get("Content-Type") != "application/json" || rec.Body.String() != "{\"count\":3}\n" {
		t.Fatalf("status %d, type %q, body %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
	}
	if rec.Header().Get("Content-Length") != "12" {
		t.Fatalf("content length %q", rec.Header().Get("Content-Length"))
	}
}

func TestWriteJSONAnswers500ForAValueThatDoesNotEncode(t *testing.T) {
	rec := httptest.NewRecorder()
	if err := WriteJSON(rec, http.StatusOK, func() {}); err == nil {
		t.Fatal("no error")
	}
	var p Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || rec.Code != 500 || p.Code != "internal" {
		t.Fatalf("status %d, body %q", rec.Code, rec.Body.String())
	}
}
