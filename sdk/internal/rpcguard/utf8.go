package rpcguard

import (
	"context"
	"fmt"
	"unicode/utf8"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Protobuf refuses to marshal a string field that is not UTF-8 and gRPC reports that
// as Internal. Such strings usually come from user input (a path segment "%FF"), so
// the client interceptors below refuse them as InvalidArgument before sending.

func checkedUnary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if err := checkMessage(req); err != nil {
		return err
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

func checkedStream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	s, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		return nil, err
	}
	return checkedClientStream{s}, nil
}

type checkedClientStream struct{ grpc.ClientStream }

func (s checkedClientStream) SendMsg(m any) error {
	if err := checkMessage(m); err != nil {
		return err
	}
	return s.ClientStream.SendMsg(m)
}

// checkMessage returns an InvalidArgument status if m has a string that is not UTF-8.
func checkMessage(m any) error {
	pm, ok := m.(proto.Message)
	if !ok {
		return nil
	}
	if name, ok := badString(pm.ProtoReflect()); !ok {
		return status.Error(codes.InvalidArgument, fmt.Sprintf("%s is not valid UTF-8", name))
	}
	return nil
}

// badString finds a string field that is not UTF-8 in m, recursively; it returns the
// field's name and false, or "", true if all are valid.
func badString(m protoreflect.Message) (name string, ok bool) {
	ok = true
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		check := func(v protoreflect.Value, kind protoreflect.Kind) {
			switch kind {
			case protoreflect.StringKind:
				if !utf8.ValidString(v.String()) {
					name, ok = string(fd.Name()), false
				}
			case protoreflect.MessageKind, protoreflect.GroupKind:
				name, ok = badString(v.Message())
			}
		}
		switch {
		case fd.IsList():
			for i, l := 0, v.List(); i < l.Len() && ok; i++ {
				check(l.Get(i), fd.Kind())
			}
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				check(k.Value(), fd.MapKey().Kind())
				if ok {
					check(mv, fd.MapValue().Kind())
				}
				return ok
			})
		default:
			check(v, fd.Kind())
		}
		return ok
	})
	return name, ok
}
