// Command plein-load puts load on a running Plein server seeded with the demo
// organisation: demo users read the feed and search, concurrently, for a fixed time,
// and it prints latency percentiles and throughput per kind of request. It stops by
// itself.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:8080", "server")
	password := flag.String("password", envOr("PLEIN_DEMO_PASSWORD", "plein-demo"), "demo password")
	duration := flag.Duration("duration", 20*time.Second, "how long to run (at most 10m)")
	workers := flag.Int("c", 8, "concurrent clients")
	flag.Parse()
	if *duration > 10*time.Minute {
		*duration = 10 * time.Minute
	}
	if err := run(*base, *password, *duration, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "plein-load:", err)
		os.Exit(1)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

var users = []string{"employee", "secretary", "helpdesk", "project", "external", "manager"}

var requests = []struct{ name, path string }{
	{"feed", "/api/v1/feed?limit=20"},
	{"feed page 2", ""}, // follows the first page's cursor
	{"search common", "/api/v1/search?limit=20&q=vergunning"},
	{"search rare", "/api/v1/search?limit=20&q=kasstroom"},
}

func run(base, password string, d time.Duration, workers int) error {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	tokens := map[string]string{}
	for _, u := range users {
		body, _ := json.Marshal(map[string]string{"email": u + "@demo.plein", "password": password})
		resp, err := client.Post(base+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		var s struct{ Token string }
		err = json.NewDecoder(resp.Body).Decode(&s)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			return fmt.Errorf("login %s: %d (is the demo seeded? make run does it)", u, resp.StatusCode)
		}
		tokens[u] = s.Token
	}
	var mu sync.Mutex
	lat := map[string][]time.Duration{}
	errs := map[string]int{}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	get := func(token, path string) (int, []byte, time.Duration) {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, 0
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, b, time.Since(start)
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			token := tokens[users[w%len(users)]]
			for i := 0; ctx.Err() == nil; i++ {
				r := requests[i%len(requests)]
				path := r.path
				if r.name == "feed page 2" {
					_, b, _ := get(token, "/api/v1/feed?limit=5")
					var l struct {
						NextCursor *string `json:"next_cursor"`
					}
					if json.Unmarshal(b, &l) != nil || l.NextCursor == nil {
						continue
					}
					path = "/api/v1/feed?limit=5&cursor=" + *l.NextCursor
				}
				code, _, took := get(token, path)
				if ctx.Err() != nil {
					return
				}
				mu.Lock()
				if code != 200 {
					errs[r.name]++
				} else {
					lat[r.name] = append(lat[r.name], took)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	fmt.Printf("%d clients for %s against %s\n\n%-14s %8s %8s %8s %8s %7s\n", workers, d, base, "request", "count", "p50", "p99", "max", "errors")
	total := 0
	for _, r := range requests {
		l := lat[r.name]
		slices.Sort(l)
		total += len(l)
		if len(l) == 0 {
			fmt.Printf("%-14s %8d %8s %8s %8s %7d\n", r.name, 0, "-", "-", "-", errs[r.name])
			continue
		}
		pct := func(p float64) time.Duration { return l[min(len(l)-1, int(float64(len(l))*p))] }
		fmt.Printf("%-14s %8d %8s %8s %8s %7d\n", r.name, len(l), ms(pct(0.5)), ms(pct(0.99)), ms(l[len(l)-1]), errs[r.name])
	}
	fmt.Printf("\n%.0f requests/s\n", float64(total)/d.Seconds())
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }
