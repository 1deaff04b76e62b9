package sdk

import (
	"context"
	"testing"
)

func TestCallFromABackgroundContextIsZero(t *testing.T) {
	c := CallFrom(context.Background())
	if c.Handle != "" || c.UserID != "" {
		t.Fatalf("CallFrom(background) = %+v", c)
	}
}

func TestWithCallCarriesTheCall(t *testing.T) {
	ctx := WithCall(context.Background(), Call{Handle: "h1", UserID: "ann", Roles: []string{"employee"}})
	c := CallFrom(ctx)
	if c.Handle != "h1" || c.UserID != "ann" || !c.HasRole("employee") || c.HasRole("admin") {
		t.Fatalf("CallFrom = %+v", c)
	}
	if handle(ctx) != "h1" {
		t.Fatalf("host calls would send %q", handle(ctx))
	}
}
