package sdk

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/pleinhq/plein/sdk/gen/pluginv1"
	"github.com/pleinhq/plein/sdk/internal/errcode"
)

// Txn is a set of KV writes and counter changes the host applies together, in one
// transaction, and only if every condition in If holds: all of it or nothing. A like
// is one Txn: "if u/ann/42 is absent, put it and add 1 to likes/42".
//
// A key appears at most once in If and at most once in Put and Delete together; a
// counter at most once in Add and DeleteCounters together. A Txn holds at most
// MaxBatch conditions and changes in all, and at most MaxValueSize bytes of values.
type Txn struct {
	// If are the conditions; see IfAbsent, IfPresent and IfVersion.
	If []Cond
	// Put writes entries, each at a new version.
	Put []Put
	// Delete removes entries; a missing key is fine.
	Delete []string
	// Add changes counters. A zero delta only reads the counter, for TxnResult.
	Add []Delta
	// DeleteCounters removes counters, which then read 0.
	DeleteCounters []string
	// Relaxed lets the host answer before the transaction is on disk. It is still
	// all or nothing, and isolated as any other; but if the database server crashes
	// within about a second, it may be lost, with the transactions after it. That
	// is the right trade for high-volume, low-stakes writes such as likes (the host
	// can then commit several times as many per second on PostgreSQL), never for
	// permissions, shares or anything a user would miss.
	Relaxed bool
}

// CondState is the state a Cond requires of its key.
type CondState int

// The states a Cond can require.
const (
	// KeyAbsent: the key is missing (or expired).
	KeyAbsent CondState = iota + 1
	// KeyPresent: the key holds an entry, at any version.
	KeyPresent
	// KeyAtVersion: the key holds an entry at exactly Cond.Version.
	KeyAtVersion
)

// Cond is a condition on a KV key.
type Cond struct {
	Key     string
	State   CondState
	Version int64 // for KeyAtVersion
}

// IfAbsent is the condition that key holds no entry.
func IfAbsent(key string) Cond { return Cond{Key: key, State: KeyAbsent} }

// IfPresent is the condition that key holds an entry.
func IfPresent(key string) Cond { return Cond{Key: key, State: KeyPresent} }

// IfVersion is the condition that key holds an entry at version (an Entry.Version
// read before).
func IfVersion(key string, version int64) Cond {
	return Cond{Key: key, State: KeyAtVersion, Version: version}
}

// Put is one entry a Txn writes.
type Put struct {
	Key   string
	Value []byte
	// TTL, if positive, makes the entry expire, as KV.PutTTL.
	TTL time.Duration
}

// Delta is a change to a counter.
type Delta struct {
	Name  string
	Delta int64
}

// TxnResult is what an applied Txn did.
type TxnResult struct {
	// Versions are the new versions of the Txn's puts, in order.
	Versions []int64
	// Counters holds every counter named in Add: its value after the Txn, or its
	// current value if a condition failed.
	Counters map[string]int64
}

// TxnConflict is the error of a Txn that changed nothing because a condition did not
// hold. It matches ErrConflict with errors.Is.
type TxnConflict struct {
	// Index is the position in Txn.If of a condition that failed (if several did,
	// one of them).
	Index int
	Key   string
}

func (e *TxnConflict) Error() string {
	return "txn: condition " + strconv.Itoa(e.Index) + " on key " + strconv.Quote(e.Key) + " does not hold: " + ErrConflict.Error()
}

// Is makes a TxnConflict match ErrConflict.
func (e *TxnConflict) Is(target error) bool { return target == ErrConflict }

// Txn applies t in one transaction, in one round trip, and returns what it did. If a
// condition does not hold it changes nothing and returns a *TxnConflict (which
// matches ErrConflict) together with a TxnResult whose Counters hold the counters'
// current values, so "already liked" still knows the count. Keys, values and counter
// names follow the KV and Counters limits; a malformed Txn is ErrInvalid.
func (h *Host) Txn(ctx context.Context, t Txn) (TxnResult, error) {
	req := &pb.KVTxnRequest{Call: handle(ctx), Deletes: t.Delete, CounterDeletes: t.DeleteCounters, Relaxed: t.Relaxed}
	req.Conditions = make([]*pb.KVCondition, len(t.If))
	for i, c := range t.If {
		req.Conditions[i] = &pb.KVCondition{Key: c.Key, State: pb.KVCondition_State(c.State), Version: c.Version}
	}
	req.Puts = make([]*pb.KVTxnPut, len(t.Put))
	for i, p := range t.Put {
		if p.TTL < 0 {
			return TxnResult{}, fmt.Errorf("txn: %w: put %s: negative ttl", ErrInvalid, p.Key)
		}
		req.Puts[i] = &pb.KVTxnPut{Key: p.Key, Value: p.Value}
		if p.TTL > 0 {
			req.Puts[i].Ttl = durationpb.New(p.TTL)
		}
	}
	req.Counters = make([]*pb.CounterDelta, len(t.Add))
	for i, d := range t.Add {
		req.Counters[i] = &pb.CounterDelta{Name: d.Name, Delta: d.Delta}
	}
	resp, err := h.rpc.KVTxn(ctx, req)
	if err != nil {
		return TxnResult{}, errcode.FromStatus(fmt.Sprintf("txn (%d conditions, %d changes)", len(t.If), len(t.Put)+len(t.Delete)+len(t.Add)+len(t.DeleteCounters)), err)
	}
	res := TxnResult{Versions: resp.GetVersions(), Counters: make(map[string]int64, len(t.Add))}
	for _, d := range t.Add {
		res.Counters[d.Name] = resp.GetCounters()[d.Name]
	}
	if !resp.GetApplied() {
		i := int(resp.GetFailed())
		conflict := &TxnConflict{Index: i}
		if i >= 0 && i < len(t.If) {
			conflict.Key = t.If[i].Key
		}
		return res, conflict
	}
	return res, nil
}
