package sdk

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// Problem is an RFC 9457 problem document with Plein's stable machine code, the same
// shape the core answers with.
type Problem struct {
	// Type is "urn:plein:problem:" followed by Code.
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Code is a stable machine code such as "not_found", "forbidden",
	// "validation_failed" or one of the plugin's own.
	Code string `json:"code"`
}

// ProblemType returns the problem type URI for code.
func ProblemType(code string) string {
	return "urn:plein:problem:" + code
}

// WriteProblem answers with an application/problem+json document for status, a
// stable machine code (e.g. "not_found", "validation_failed") and a detail for
// humans ("" for none). It returns the error from writing.
func WriteProblem(w http.ResponseWriter, status int, code, detail string) error {
	p := Problem{Type: ProblemType(code), Title: http.StatusText(status), Status: status, Detail: detail, Code: code}
	return writeJSON(w, status, "application/problem+json", p)
}

// WriteJSON answers with status and v encoded as JSON. If v does not encode it
// answers 500 with an "internal" problem instead and returns the encoding error;
// otherwise it returns the error from writing.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	return writeJSON(w, status, "application/json", v)
}

func writeJSON(w http.ResponseWriter, status int, contentType string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		_ = WriteProblem(w, http.StatusInternalServerError, "internal", "")
		return fmt.Errorf("encode response: %w", err)
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)+1))
	w.WriteHeader(status)
	_, err = w.Write(append(data, '\n'))
	return err
}
