package kpl

import "time"

// A Hook observes a Producer. It is any value; what it observes depends on which
// of the Hook interfaces it implements (HookDropped, HookBatchWritten,
// HookShardMapChanged), and a hook implementing none of them is never called.
// Hooks are given in Config.Hooks and called in that order.
//
// The producer calls hooks from its own goroutines (HookShardMapChanged also from
// New, for the map the startup check reads), never with its lock held, so a hook
// may call the producer's methods other than Put, Flush and Shutdown. A hook must
// not block and should return quickly: the goroutine calling it delivers records
// or reads the shard map, and waits for it. A hook is called concurrently with
// itself and with the other hooks.
type Hook interface{}

// HookDropped is a Hook told of every group of user records the producer gives up
// on after Put accepted them.
type HookDropped interface {
	// OnDropped is called once for each drop, with the *DropError that otel.Handle,
	// Stats, the metrics and the next Flush (or Shutdown) also see. A Flush
	// returning a drop returns after the hooks have seen it.
	OnDropped(*DropError)
}

// HookDroppedFunc is a function as a HookDropped: its OnDropped calls it.
type HookDroppedFunc func(*DropError)

// OnDropped calls f(d).
func (f HookDroppedFunc) OnDropped(d *DropError) { f(d) }

// HookBatchWritten is a Hook told of every PutRecords request when it ends.
type HookBatchWritten interface {
	// OnBatchWritten is called once for each PutRecords request, once its
	// outcome has been accounted for (the retries scheduled, the drops made),
	// before those drops reach HookDropped and before a Flush the request
	// completes returns.
	OnBatchWritten(BatchWritten)
}

// HookShardMapChanged is a Hook told of every shard map the producer applies
// whose open shards differ from the previous one's.
type HookShardMapChanged interface {
	// OnShardMapChanged is called once for each such map, in the order they are
	// applied; the first map the producer reads is a change from none.
	OnShardMapChanged(ShardMapChange)
}

// The outcomes of a PutRecords request, BatchWritten.Outcome.
const (
	// BatchSucceeded: Kinesis stored every entry.
	BatchSucceeded = "success"
	// BatchPartial: Kinesis answered, with some entries (BatchWritten.Failed)
	// refused.
	BatchPartial = "partial"
	// BatchFailed: the request as a whole failed (refused, not answered, timed
	// out, or answered with a result count that does not match).
	BatchFailed = "failed"
	// BatchAbandoned: the request was cancelled by a Shutdown whose context
	// ended; its records are dropped (DropShutdown).
	BatchAbandoned = "abandoned"
)

// BatchWritten describes one PutRecords request that ended, for HookBatchWritten.
type BatchWritten struct {
	// Records is the Kinesis records (entries) the request sent.
	Records int
	// UserRecords is the user records those Kinesis records hold.
	UserRecords int
	// Bytes is the request's data plus partition keys, as Config.BatchSize
	// counts them.
	Bytes int64
	// Shards is how many shards the records were predicted for.
	Shards int
	// Latency is how long the PutRecords call took.
	Latency time.Duration
	// Outcome is BatchSucceeded, BatchPartial, BatchFailed or BatchAbandoned.
	Outcome string
	// Failed is how many entries Kinesis refused (BatchPartial), or Records
	// for a request that failed or was abandoned as a whole; 0 on success.
	// Refused entries are retried or dropped as their error says.
	Failed int
	// ErrorCode is what went wrong, as the metrics' error.type gives it: for
	// BatchFailed the request's error code (an AWS error code such as
	// "ProvisionedThroughputExceededException", or the producer's own, such as
	// "bad_response" or "timeout"); for BatchPartial the error code of the first
	// entry refused; "" otherwise.
	ErrorCode string
	// Err is the request's error for BatchFailed and BatchAbandoned; nil
	// otherwise (entry errors are in ErrorCode, and in the drops they cause).
	Err error
}

// ShardMapChange describes a new shard map the producer applied, for
// HookShardMapChanged.
type ShardMapChange struct {
	// OldShards is how many open shards the previous map had; 0 for the first
	// map (the producer had none, and aggregated only user records with the
	// same hash key).
	OldShards int
	// NewShards is how many open shards the new map has.
	NewShards int
}

// hooks are a Producer's hooks by the interfaces they implement.
type hooks struct {
	dropped  []HookDropped
	written  []HookBatchWritten
	shardMap []HookShardMapChanged
}

// newHooks sorts hs by the interfaces each implements.
func newHooks(hs []Hook) hooks {
	var h hooks
	for _, x := range hs {
		if d, ok := x.(HookDropped); ok {
			h.dropped = append(h.dropped, d)
		}
		if w, ok := x.(HookBatchWritten); ok {
			h.written = append(h.written, w)
		}
		if m, ok := x.(HookShardMapChanged); ok {
			h.shardMap = append(h.shardMap, m)
		}
	}
	return h
}
