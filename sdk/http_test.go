package sdk_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/pleinhq/plein/sdk"
	"github.com/pleinhq/plein/sdk/plugintest"
)

func readAll(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return data
}

func decodeProblem(t *testing.T, resp *http.Response) sdk.Problem {
	t.Helper()
	var p sdk.Problem
	if err := json.Unmarshal(readAll(t, resp), &p); err != nil {
		t.Fatalf("not a problem: %v", err)
	}
	return p
}

func TestHTTPStreamsLargeBodiesBothWays(t *testing.T) {
	p := &probe{handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		if _, err := io.Copy(w, r.Body); err != nil {
			t.Errorf("copy: %v", err)
		}
	})}
	h := plugintest.New(t, p, plugintest.Options{})
	data := make([]byte, 9<<20+7) // twice the message limit, odd size
	for i := range data {
		data[i] = byte(rand.IntN(256))
	}
	resp := h.Do(plugintest.User{ID: "ann"}, "POST", "/echo", iotest.HalfReader(bytes.NewReader(data)))
	got := readAll(t, resp)
	if resp.StatusCode != 200 || !bytes.Equal(got, data) {
		t.Fatalf("status %d, %d bytes back of %d, equal %v", resp.StatusCode, len(got), len(data), bytes.Equal(got, data))
	}
}

func TestHTTPRequestCarriesTheCall(t *testing.T) {
	type seen struct {
		Method, Path, Query, RequestID, Header, User string
		Roles                                        []string
		Deadline                                     bool
		Handle                                       bool
	}
	var got seen
	p := &probe{handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := sdk.CallFrom(r.Context())
		ctxDeadline, ok := r.Context().Deadline()
		got = seen{
			Method: r.Method, Path: r.URL.Path, Query: r.URL.Query().Get("q"), RequestID: r.Header.Get("X-Request-Id"),
			Header: r.Header.Get("X-Custom"), User: c.UserID, Roles: c.Roles,
			Deadline: ok && !ctxDeadline.After(c.Deadline) && time.Until(c.Deadline) > 0, Handle: c.Handle != "",
		}
		if c.RequestID != got.RequestID {
			t.Errorf("call request id %q, header %q", c.RequestID, got.RequestID)
		}
		w.WriteHeader(http.StatusNoContent)
	})}
	h := plugintest.New(t, p, plugintest.Options{})
	r := httptest.NewRequest("GET", "/caf%C3%A9?q=a+b", nil)
	r.Header.Set("X-Custom", "yes")
	resp := h.DoRequest(plugintest.User{ID: "ann", Roles: []string{"employee"}}, r)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("status %d", resp.StatusCode)
	}
	want := seen{Method: "GET", Path: "/café", Query: "a b", Header: "yes", User: "ann", Roles: []string{"employee"}, Deadline: true, Handle: true}
	want.RequestID = got.RequestID
	if fmt.Sprint(got) != fmt.Sprint(want) || got.RequestID == "" {
		t.Fatalf("handler saw %+v, want %+v", got, want)
	}
}

func TestHTTPPanicBecomesA500ProblemAndThePluginLivesOn(t *testing.T) {
	p := &probe{handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/panic":
			w.Header().Set("X-Half", "written")
			_, _ = w.Write([]byte("partial"))
			panic("boom")
		case "/panic-late":
			_, _ = w.Write([]byte("started"))
			w.(http.Flusher).Flush()
			panic("boom after the head")
		}
		_, _ = w.Write([]byte("ok"))
	})}
	h := plugintest.New(t, p, plugintest.Options{})
	ann := plugintest.User{ID: "ann"}
	resp := h.Do(ann, "GET", "/panic", nil)
	if prob := decodeProblem(t, resp); resp.StatusCode != 500 || prob.Code != "internal" || resp.Header.Get("X-Half") != "" {
		t.Fatalf("status %d, problem %+v, header %v", resp.StatusCode, prob, resp.Header)
	}
	resp = h.Do(ann, "GET", "/panic-late", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("late panic status %d", resp.StatusCode)
	}
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Fatal("a response cut by a panic read as complete")
	}
	if resp := h.Do(ann, "GET", "/after", nil); string(readAll(t, resp)) != "ok" {
		t.Fatal("the plugin did not survive the panics")
	}
}

func TestHTTPResponseStreamsBeforeTheHandlerReturns(t *testing.T) {
	release := make(chan struct{})
	p := &probe{handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("first;"))
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("flush: %v", err)
		}
		<-release
		_, _ = w.Write([]byte("second"))
	})}
	h := plugintest.New(t, p, plugintest.Options{})
	resp := h.Do(plugintest.User{ID: "ann"}, "GET", "/stream", nil)
	buf := make([]byte, 6)
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "first;" {
		t.Fatalf("first part %q, %v", buf, err)
	}
	close(release)
	if rest := readAll(t, resp); string(rest) != "second" {
		t.Fatalf("rest %q", rest)
	}
}

func TestHTTPResponseWriterBehavesLikeNetHTTP(t *testing.T) {
	p := &probe{handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/sniff":
			_, _ = w.Write([]byte("<!DOCTYPE html><p>hi"))
		case "/late-header":
			w.WriteHeader(http.StatusAccepted)
			w.Header().Set("X-Late", "ignored")
			w.WriteHeader(http.StatusTeapot)
		case "/no-body":
			w.WriteHeader(http.StatusNoContent)
			if _, err := w.Write([]byte("x")); !errors.Is(err, http.ErrBodyNotAllowed) {
				t.Errorf("write after 204: %v", err)
			}
		case "/head":
			w.Header().Set("Content-Length", "5")
			_, _ = w.Write([]byte("hello"))
		}
	})}
	h := plugintest.New(t, p, plugintest.Options{})
	ann := plugintest.User{ID: "ann"}
	if resp := h.Do(ann, "GET", "/sniff", nil); !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("sniffed %q", resp.Header.Get("Content-Type"))
	}
	if resp := h.Do(ann, "GET", "/late-header", nil); resp.StatusCode != http.StatusAccepted || resp.Header.Get("X-Late") != "" {
		t.Errorf("late header: %d %v", resp.StatusCode, resp.Header)
	}
	if resp := h.Do(ann, "GET", "/no-body", nil); resp.StatusCode != http.StatusNoContent || len(readAll(t, resp)) != 0 {
		t.Errorf("no body: %d", resp.StatusCode)
	}
	if resp := h.Do(ann, "HEAD", "/head", nil); resp.Header.Get("Content-Length") != "5" || len(readAll(t, resp)) != 0 {
		t.Errorf("HEAD: %v", resp.Header)
	}
}

func TestHTTPTruncatedUploadIsNotTakenForComplete(t *testing.T) {
	p := &probe{handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			_ = sdk.WriteProblem(w, http.StatusBadRequest, "upload_broken", err.Error())
			return
		}
		w.WriteHeader(http.StatusOK)
	})}
	h := plugintest.New(t, p, plugintest.Options{})
	body := io.MultiReader(bytes.NewReader(make([]byte, 100<<10)), iotest.ErrReader(errors.New("client went away")))
	resp := h.Do(plugintest.User{ID: "ann"}, "POST", "/echo", body)
	if prob := decodeProblem(t, resp); resp.StatusCode != 400 || !strings.Contains(prob.Detail, "unexpected EOF") {
		t.Fatalf("status %d, problem %+v", resp.StatusCode, prob)
	}
}

func TestRoutesMissingFromTheManifestNeverReachThePlugin(t *testing.T) {
	reached := false
	p := &probe{handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true })}
	h := plugintest.New(t, p, plugintest.Options{})
	resp := h.Do(plugintest.User{ID: "ann"}, "DELETE", "/anything", nil)
	if prob := decodeProblem(t, resp); resp.StatusCode != 404 || prob.Code != "not_found" || reached {
		t.Fatalf("status %d, problem %+v, reached %v", resp.StatusCode, prob, reached)
	}
}

func TestANilHandlerAnswers404(t *testing.T) {
	h := plugintest.New(t, &probe{}, plugintest.Options{})
	if resp := h.Do(plugintest.User{ID: "ann"}, "GET", "/x", nil); resp.StatusCode != 404 {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

func TestHTTPRefusesHeadersThatAreNotUTF8(t *testing.T) {
	reached := false
	p := &probe{handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true })}
	h := plugintest.New(t, p, plugintest.Options{})
	r := httptest.NewRequest("GET", "/x", nil)
	r.Header.Set("X-Name", "Jos\xe9")
	if resp := h.DoRequest(plugintest.User{ID: "ann"}, r); resp.StatusCode != http.StatusBadRequest || reached {
		t.Fatalf("status %d, reached %v", resp.StatusCode, reached)
	}
}

func TestHTTPServesConcurrentRequests(t *testing.T) {
	p := &probe{handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, sdk.CallFrom(r.Context()).UserID+r.URL.Path)
	})}
	h := plugintest.New(t, p, plugintest.Options{})
	errs := make(chan error, 20)
	for i := range 20 {
		go func() {
			user := fmt.Sprintf("u%d", i)
			resp := h.Do(plugintest.User{ID: user}, "GET", "/p"+user, nil)
			body, err := io.ReadAll(resp.Body)
			if err == nil && string(body) != user+"/p"+user {
				err = fmt.Errorf("%s got %q", user, body)
			}
			errs <- err
		}()
	}
	for range 20 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
