package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/pleinhq/plein/sdk/gen/pluginv1"
	"github.com/pleinhq/plein/sdk/internal/errcode"
)

// Decorate asks the plugin's Decorator for its fields, keeps those of the requested
// items and refuses values that are not JSON objects, so the host can embed them as
// they are. A plugin without a Decorator adds nothing.
func (s *pluginService) Decorate(ctx context.Context, req *pb.DecorateRequest) (*pb.DecorateResponse, error) {
	if _, err := s.handler(); err != nil {
		return nil, err
	}
	d, ok := s.plugin.(Decorator)
	if !ok {
		return &pb.DecorateResponse{}, nil
	}
	ctx, cancel := callContext(ctx, req.GetCall())
	defer cancel()
	refs := make([]ItemRef, len(req.GetItems()))
	for i, it := range req.GetItems() {
		refs[i] = ItemRef{ID: it.GetId(), Kind: it.GetKind(), SpaceID: it.GetSpaceId(), Owner: it.GetOwner()}
	}
	fields, err := d.Decorate(ctx, refs)
	if err != nil {
		s.log.Error("decorate failed", "items", len(refs), "err", err)
		return nil, errcode.ToStatus(fmt.Errorf("decorate: %w", err))
	}
	out := &pb.DecorateResponse{Fields: make(map[string][]byte, len(fields))}
	for _, ref := range refs {
		v, ok := fields[ref.ID]
		if !ok {
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(v, &obj); err != nil || obj == nil {
			s.log.Error("decorate returned a value that is not a JSON object", "item_id", ref.ID)
			return nil, status.Errorf(codes.Internal, "decorate: item %s: not a JSON object", ref.ID)
		}
		out.Fields[ref.ID] = v
	}
	return out, nil
}

// Deliver hands each event to the plugin's EventHandler and answers with the ids it
// handled. A failing or panicking event is left out (the host delivers it again) and
// the rest go on. A plugin without an EventHandler answers Unimplemented.
func (s *pluginService) Deliver(ctx context.Context, req *pb.DeliverRequest) (*pb.DeliverResponse, error) {
	if _, err := s.handler(); err != nil {
		return nil, err
	}
	eh, ok := s.plugin.(EventHandler)
	if !ok {
		return nil, status.Error(codes.Unimplemented, "the plugin handles no events")
	}
	out := &pb.DeliverResponse{}
	for _, e := range req.GetEvents() {
		if ctx.Err() != nil {
			break
		}
		ev := eventFromProto(e)
		if err := s.handleEvent(ctx, eh, ev); err != nil {
			s.log.Error("event failed", "event_id", ev.ID, "type", ev.Type, "err", err)
			continue
		}
		out.Handled = append(out.Handled, ev.ID)
	}
	return out, nil
}

// handleEvent runs one HandleEvent, turning a panic into an error.
func (s *pluginService) handleEvent(ctx context.Context, eh EventHandler, e Event) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v\n%s", v, debug.Stack())
		}
	}()
	return eh.HandleEvent(ctx, e)
}
