package api

import (
	"strconv"
	"strings"
)

// byteRange is the part of a file a Range header asks for.
type byteRange struct {
	start, length int64
}

// rangeResult is what parseRange made of a Range header.
type rangeResult int

const (
	rangeWhole         rangeResult = iota // no usable range: send the whole file with 200
	rangePart                             // send the range with 206
	rangeUnsatisfiable                    // a well-formed range outside the file: 416
)

// parseRange reads a Range header for a file of size bytes (RFC 9110, 14.2). Only a
// single range is served; a header the server cannot use (malformed, another unit,
// several ranges) means the whole file, which the RFC allows.
func parseRange(h string, size int64) (byteRange, rangeResult) {
	spec, ok := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !ok || spec == "" || strings.Contains(spec, ",") {
		return byteRange{}, rangeWhole
	}
	first, last, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return byteRange{}, rangeWhole
	}
	if first == "" { // suffix: the last n bytes
		n, ok := digits(last)
		if !ok {
			return byteRange{}, rangeWhole
		}
		if n == 0 || size == 0 {
			return byteRange{}, rangeUnsatisfiable
		}
		n = min(n, size)
		return byteRange{size - n, n}, rangePart
	}
	start, ok := digits(first)
	if !ok {
		return byteRange{}, rangeWhole
	}
	end := size - 1
	if last != "" {
		e, ok := digits(last)
		if !ok || e < start {
			return byteRange{}, rangeWhole
		}
		end = min(e, size-1)
	}
	if start >= size {
		return byteRange{}, rangeUnsatisfiable
	}
	return byteRange{start, end - start + 1}, rangePart
}

// digits parses a non-empty run of ASCII digits that fits in an int64.
func digits(s string) (int64, bool) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}
