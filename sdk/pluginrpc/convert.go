package pluginrpc

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/pleinhq/plein/sdk"
	pb "github.com/pleinhq/plein/sdk/gen/pluginv1"
)

// Conversions between the wire and the SDK's types for the host side; package sdk has
// the plugin's.

// timestamp returns t on the wire, or nil for the zero time.
func timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func entryToProto(e sdk.Entry) *pb.KVEntry {
	return &pb.KVEntry{Key: e.Key, Value: e.Value, Version: e.Version, ExpiresAt: timestamp(e.ExpiresAt)}
}

func blobInfoToProto(b sdk.BlobInfo) *pb.BlobInfo {
	return &pb.BlobInfo{Key: b.Key, Size: b.Size, CreatedAt: timestamp(b.CreatedAt)}
}

func itemToProto(it sdk.Item) *pb.Item {
	return &pb.Item{
		Id: it.ID, Kind: it.Kind, SpaceId: it.SpaceID, Owner: it.Owner, AuthorId: it.AuthorID,
		Title: it.Title, Body: it.Body, Restricted: it.Restricted,
		CreatedAt: timestamp(it.CreatedAt), UpdatedAt: timestamp(it.UpdatedAt),
	}
}

func callToProto(c sdk.Call) *pb.Call {
	return &pb.Call{Handle: c.Handle, RequestId: c.RequestID, UserId: c.UserID, Roles: c.Roles, Deadline: timestamp(c.Deadline)}
}

func eventToProto(e sdk.Event) *pb.Event {
	return &pb.Event{
		Id: e.ID, Type: e.Type, ItemId: e.ItemID, SpaceId: e.SpaceID, Actor: e.Actor, Payload: e.Payload, Time: timestamp(e.Time),
	}
}

func itemRefToProto(r sdk.ItemRef) *pb.ItemRef {
	return &pb.ItemRef{Id: r.ID, Kind: r.Kind, SpaceId: r.SpaceID, Owner: r.Owner}
}

func manifestFromProto(m *pb.Manifest) sdk.Manifest {
	routes := make([]sdk.Route, len(m.GetRoutes()))
	for i, r := range m.GetRoutes() {
		routes[i] = sdk.Route{Method: r.GetMethod(), Path: r.GetPath(), Permission: r.GetPermission()}
	}
	var fields []sdk.Field
	for _, f := range m.GetFields() {
		fields = append(fields, sdk.Field{Name: f.GetName(), From: f.GetFrom(), Key: f.GetKey()})
	}
	return sdk.Manifest{
		Name: m.GetName(), Title: m.GetTitle(), Version: m.GetVersion(), APIVersion: int(m.GetApiVersion()), Routes: routes,
		Events: m.GetEvents(), Decorations: m.GetDecorations(), Settings: m.GetSettings(), Policies: m.GetPolicies(),
		Fields: fields,
	}
}
