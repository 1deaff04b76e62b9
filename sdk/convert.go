package sdk

import (
	pb "github.com/pleinhq/plein/sdk/gen/pluginv1"
)

// Conversions between the wire and the SDK's types for the plugin side; pluginrpc
// has the host's.

func manifestToProto(m Manifest) *pb.Manifest {
	routes := make([]*pb.Route, len(m.Routes))
	for i, r := range m.Routes {
		routes[i] = &pb.Route{Method: r.Method, Path: r.Path, Permission: r.Permission}
	}
	fields := make([]*pb.Field, len(m.Fields))
	for i, f := range m.Fields {
		fields[i] = &pb.Field{Name: f.Name, From: f.From, Key: f.Key}
	}
	return &pb.Manifest{
		Name: m.Name, Title: m.Title, Version: m.Version, ApiVersion: int32(m.APIVersion), Routes: routes,
		Events: m.Events, Decorations: m.Decorations, Settings: m.Settings, Policies: m.Policies, Fields: fields,
	}
}

func callFromProto(c *pb.Call) Call {
	out := Call{Handle: c.GetHandle(), RequestID: c.GetRequestId(), UserID: c.GetUserId(), Roles: c.GetRoles()}
	if c.GetDeadline() != nil {
		out.Deadline = c.GetDeadline().AsTime()
	}
	return out
}

func eventFromProto(e *pb.Event) Event {
	out := Event{ID: e.GetId(), Type: e.GetType(), ItemID: e.GetItemId(), SpaceID: e.GetSpaceId(), Actor: e.GetActor(), Payload: e.GetPayload()}
	if e.GetTime() != nil {
		out.Time = e.GetTime().AsTime()
	}
	return out
}
