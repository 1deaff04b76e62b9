package api

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/pleinhq/plein/core/fault"
)

// readyTimeout bounds each backend check of /readyz.
const readyTimeout = 2 * time.Second

type checkResult struct {
	Status  string  `json:"status"` // "ok" or "failing"
	Backend string  `json:"backend"`
	Ms      float64 `json:"ms"`
	Error   string  `json:"error,omitempty"`
}

// healthz answers 200 while the process runs; it asks no backend.
func (s *Server) healthz(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok", "version": s.version})
}

// readyz asks every configured backend at once and answers 200 when all answer, or a
// 503 problem naming the failing ones.
func (s *Server) readyz(c *fiber.Ctx) error {
	results := make(map[string]checkResult, len(s.checks))
	var mu sync.Mutex
	var wg sync.WaitGroup
	parent := c.UserContext() // fiber.Ctx is not safe to touch from the goroutines below
	for _, ch := range s.checks {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(parent, readyTimeout)
			defer cancel()
			start := time.Now()
			err := ch.Ping(ctx)
			r := checkResult{Status: "ok", Backend: ch.Backend, Ms: float64(time.Since(start).Microseconds()) / 1000}
			if err != nil {
				r.Status, r.Error = "failing", err.Error()
			}
			mu.Lock()
			results[ch.Name] = r
			mu.Unlock()
		})
	}
	wg.Wait()
	var failing []string
	for _, ch := range s.checks { // in configuration order, for a stable message
		if results[ch.Name].Status != "ok" {
			failing = append(failing, ch.Name)
		}
	}
	if len(failing) > 0 {
		s.log.Warn("not ready", "failing", failing)
		p, _ := problemFor(&fault.Error{Kind: fault.Unavailable, Code: "not_ready", Detail: "not ready: " + strings.Join(failing, ", ") + " failing"})
		p.Checks = results
		return writeProblem(c, p)
	}
	return c.JSON(fiber.Map{"status": "ready", "checks": results})
}
