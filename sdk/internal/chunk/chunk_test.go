package chunk

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

func TestSendSplitsAndReaderJoins(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 3*Size/16+5)
	var parts [][]byte
	n, err := Send(bytes.NewReader(data), func(p []byte) error {
		if len(p) > Size || len(p) == 0 {
			t.Errorf("chunk of %d bytes", len(p))
		}
		parts = append(parts, bytes.Clone(p))
		return nil
	})
	if err != nil || n != int64(len(data)) || len(parts) < 4 {
		t.Fatalf("Send = %d, %v in %d parts", n, err, len(parts))
	}
	next := 0
	r := &Reader{Next: func() ([]byte, error) {
		if next == len(parts) {
			return nil, io.EOF
		}
		next++
		return parts[next-1], nil
	}}
	if err := iotest.TestReader(r, data); err != nil {
		t.Fatal(err)
	}
}

func TestReaderSkipsEmptyChunksAndKeepsItsError(t *testing.T) {
	broken := errors.New("stream broke")
	chunks := [][]byte{{}, []byte("ab"), {}}
	r := &Reader{Next: func() ([]byte, error) {
		if len(chunks) == 0 {
			return nil, broken
		}
		c := chunks[0]
		chunks = chunks[1:]
		return c, nil
	}}
	got, err := io.ReadAll(r)
	if string(got) != "ab" || !errors.Is(err, broken) {
		t.Fatalf("ReadAll = %q, %v", got, err)
	}
	if _, err := r.Read(make([]byte, 1)); !errors.Is(err, broken) {
		t.Fatalf("later Read = %v", err)
	}
}

func TestSendReportsReadAndSendErrors(t *testing.T) {
	readErr := errors.New("disk")
	if _, err := Send(iotest.ErrReader(readErr), func([]byte) error { return nil }); !errors.Is(err, readErr) {
		t.Fatalf("read error = %v", err)
	}
	sendErr := errors.New("closed")
	n, err := Send(bytes.NewReader(make([]byte, 10)), func([]byte) error { return sendErr })
	if !errors.Is(err, sendErr) || n != 0 {
		t.Fatalf("send error = %d, %v", n, err)
	}
}
