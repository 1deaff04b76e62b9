package errcode

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestSentinelsSurviveTheRoundTrip(t *testing.T) {
	for _, want := range []error{ErrNotFound, ErrForbidden, ErrConflict, ErrInvalid, context.DeadlineExceeded, context.Canceled} {
		sent := ToStatus(fmt.Errorf("key %q: %w", "k", want))
		got := FromStatus("kv get k", sent)
		if !errors.Is(got, want) {
			t.Errorf("%v came back as %v", want, got)
		}
		if !strings.Contains(got.Error(), "kv get k") || !strings.Contains(got.Error(), `key "k"`) {
			t.Errorf("message %q lost the operation or the detail", got.Error())
		}
	}
}

func TestOtherErrorsBecomeABareInternal(t *testing.T) {
	st, _ := status.FromError(ToStatus(errors.New("password=hunter2 at db:5432")))
	if st.Code() != codes.Internal || strings.Contains(st.Message(), "hunter2") {
		t.Fatalf("status %v %q leaks details", st.Code(), st.Message())
	}
	got := FromStatus("op", st.Err())
	for _, s := range []error{ErrNotFound, ErrForbidden, ErrConflict, ErrInvalid} {
		if errors.Is(got, s) {
			t.Errorf("Internal matched %v", s)
		}
	}
}

func TestStatusErrorsPassThrough(t *testing.T) {
	in := status.Error(codes.Unavailable, "down")
	if ToStatus(in) != in {
		t.Fatal("a status error was rewritten")
	}
	if ToStatus(nil) != nil || FromStatus("op", nil) != nil {
		t.Fatal("nil did not stay nil")
	}
	if got := FromStatus("op", status.Error(codes.Unauthenticated, "expired")); !errors.Is(got, ErrForbidden) {
		t.Fatalf("Unauthenticated = %v, want ErrForbidden", got)
	}
	plain := errors.New("dial failed")
	if got := FromStatus("op", plain); !errors.Is(got, plain) || got.Error() != "op: dial failed" {
		t.Fatalf("plain error = %v", got)
	}
}
