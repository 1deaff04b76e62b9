package sdk

// Limits the host enforces on every plugin's host calls; a call beyond them fails with
// ErrInvalid.
const (
	// MaxKeySize is the longest KV key or counter name, in bytes.
	MaxKeySize = 512
	// MaxValueSize is the largest KV value, in bytes.
	MaxValueSize = 1 << 20
	// MaxBatch is the most keys or names one BatchGet reads.
	MaxBatch = 1000
	// DefaultListLimit is the page size of KV.List when limit is 0.
	DefaultListLimit = 100
	// MaxListLimit is the largest page KV.List returns.
	MaxListLimit = 1000
	// DefaultSearchLimit is the number of results Items.Search returns when the
	// query's Limit is 0.
	DefaultSearchLimit = 20
	// MaxSearchLimit is the most results Items.Search returns.
	MaxSearchLimit = 100
)
