// Package header converts HTTP headers to and from the plugin protocol's messages.
package header

import (
	"net/http"

	pb "github.com/pleinhq/plein/sdk/gen/pluginv1"
)

// ToProto returns h as wire headers.
func ToProto(h http.Header) []*pb.Header {
	out := make([]*pb.Header, 0, len(h))
	for name, values := range h {
		out = append(out, &pb.Header{Name: name, Values: values})
	}
	return out
}

// FromProto returns wire headers as an http.Header with canonical names, with room
// for extra more.
func FromProto(hs []*pb.Header, extra int) http.Header {
	out := make(http.Header, len(hs)+extra)
	for _, h := range hs {
		for _, v := range h.GetValues() {
			out.Add(h.GetName(), v)
		}
	}
	return out
}
