package kpl

import (
	"container/heap"
	"errors"
	"time"

	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
)

// shardBusyGrace is how long a request in flight keeps the next request of
// its (rate-limited) shards from being sent: longer than a PutRecords call
// usually takes, short enough that a stalled request holds nothing back.
const shardBusyGrace = 250 * time.Millisecond

// maxBins is how many aggregates a shard fills at once. A user record goes to
// the fullest one it fits in (best fit), which packs the 25 KiB PUT payload
// units much better than a single open aggregate when record sizes vary.
const maxBins = 4

// bin is one aggregate being filled for a shard.
type bin struct {
	agg       aggregation.Aggregator
	pkLen     int                 // length of the first user record's partition key: the outer one
	first     aggregation.HashKey // hash key of the first user record: the outer ExplicitHashKey
	lo, hi    aggregation.HashKey // smallest and largest hash key inside
	born      time.Time           // when its first user record was put: the oldest's delivery budget
	userBytes int64
	weights   []int32 // each user record's item count, in order (see PutItems)

	// Memory accounting (see producer_memory.go): what the bin is charged
	// now, what its record will cost beyond its bytes, and its user
	// records' key strings; the largest aggregate it ever held, which its
	// reused buffers are sized for.
	mem, fixed, extra   int64
	peakSize, peakCount int
}

func (b *bin) add(h aggregation.HashKey, pk, ehk string, data []byte, tags []aggregation.Tag, size int64, items int32) {
	if b.agg.Count() == 0 {
		b.pkLen, b.first, b.lo, b.hi = len(pk), h, h, h
	} else {
		if h.Compare(b.lo) < 0 {
			b.lo = h
		}
		if h.Compare(b.hi) > 0 {
			b.hi = h
		}
	}
	b.agg.Add(pk, ehk, data, tags)
	b.userBytes += size
	b.weights = append(b.weights, items)
}

// size is the Kinesis size of the aggregate now: data plus partition key.
func (b *bin) size() int { return b.agg.Size() + b.pkLen }

// record is one Kinesis record on its way: an aggregate of user records, or
// one user record with aggregation off.
type record struct {
	data      []byte
	pk        string
	ehk       string  // "" for none
	size      int     // len(data) + len(pk), as Kinesis counts it
	users     int     // user records inside
	userBytes int64   // their backlog size
	weights   []int32 // each user record's item count, in order
	items     int64   // the sum of weights
	lo, hi    aggregation.HashKey
	shard     *shard    // predicted shard
	born      time.Time // when its oldest user record was put; it expires RecordTTL later
	attempts  int       // times sent
	failures  int       // failed attempts Kinesis answered: what MaxRetries caps
	epoch     uint64
	due       time.Time // next attempt, while waiting for a retry
	landed    string    // shard it was stored on, while waiting for verification
	mem       int64     // what it is charged against the byte budget
	body      int64     // of which its entry in a request body, with a comma
	heapIdx   int
}

// shard is the producer's state for one open shard of the current map (or
// the single stand-in of the fallback mode, with an empty id).
type shard struct {
	id        string
	rng       aggregation.HashRange
	lim       *shardLimiter // nil: not limited
	bins      []*bin
	retry     recQueue // records to send again, first
	fresh     recQueue
	busy      int       // requests in flight holding records of this shard
	busySince time.Time // when the last of them was sent
	ready     int       // bytes of the records in retry and fresh (their size)
}

// recQueue is a FIFO of records.
type recQueue struct {
	items []*record
	head  int
}

func (q *recQueue) len() int       { return len(q.items) - q.head }
func (q *recQueue) peek() *record  { return q.items[q.head] }
func (q *recQueue) push(r *record) { q.items = append(q.items, r) }
func (q *recQueue) pop() *record {
	r := q.items[q.head]
	q.items[q.head] = nil
	q.head++
	switch {
	case q.head == len(q.items):
		q.items, q.head = q.items[:0], 0
	case q.head > 64 && q.head > len(q.items)/2:
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	return r
}

// removeIf takes the records for which drop is true out of the queue, keeping the
// order of the others, and returns them.
func (q *recQueue) removeIf(drop func(*record) bool) []*record {
	var out []*record
	kept := q.items[:q.head]
	for _, r := range q.items[q.head:] {
		if drop(r) {
			out = append(out, r)
			continue
		}
		kept = append(kept, r)
	}
	clear(q.items[len(kept):])
	q.items = kept
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	}
	return out
}

// retryHeap orders records waiting for a retry by due time.
type retryHeap []*record

func (h retryHeap) Len() int           { return len(h) }
func (h retryHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h retryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx, h[j].heapIdx = i, j
}
func (h *retryHeap) Push(x any) {
	r := x.(*record)
	r.heapIdx = len(*h)
	*h = append(*h, r)
}
func (h *retryHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	r.heapIdx = -1
	return r
}

var _ heap.Interface = (*retryHeap)(nil)

// epochStat tracks the user records put between two Flush calls.
type epochStat struct {
	epoch   uint64
	pending int          // user records not yet delivered or dropped
	drops   []*DropError // merged by reason
}

// flushWaiter is one Flush (or Shutdown) waiting for every epoch up to its
// own to end.
type flushWaiter struct {
	epoch uint64
	done  chan struct{}
	err   error
}

// batch is the records of one PutRecords request.
type batch struct {
	recs   []*record
	users  int
	shards []*shard  // shards with records in it
	sent   time.Time // when the dispatcher sent it

	body       []byte // the buffer its body is written into; nil: send allocates it
	need       int    // the body's size
	size       int    // the capacity send allocates
	reserved   int64  // the body entries its records are charged for
	bodyCharge int64  // what its buffer is charged
}

// state is everything the producer's lock guards.
type state struct {
	closed       bool  // Shutdown began: Put refuses records
	abandoned    bool  // Shutdown's context ended: everything held is dropped
	abandonCause error // that context's error

	smap   *shardMap // nil: no usable map yet (fallback mode)
	shards []*shard  // open shards in hash key order, parallel to smap.open
	byID   map[string]*shard

	heldCount   int           // user records held: put and not yet delivered or dropped
	heldBytes   int64         // their bytes
	mem         int64         // bytes held against BacklogBytes (producer_memory.go)
	idle        [][]byte      // body buffers kept for the next requests
	recIdle     [][]byte      // record buffers of capacity recCap kept for the next aggregates
	binIdle     []*bin        // bins kept for the next aggregates
	idleBytes   int64         // what the kept buffers are charged
	idleUsed    bool          // a kept buffer was used since the last flush tick
	queued      int           // user records in shard queues or waiting for a retry
	room        chan struct{} // closed when room frees and roomWaiters > 0
	roomWaiters int

	readyCount    int // records in shard queues
	readyBytes    int
	force         bool     // send partial batches until the queues are empty
	flights       []*batch // the requests in flight
	inflightUsers int
	rr            int // shard to start the next batch at

	retries retryHeap
	verify  []*record // stored on an unexpected shard; checked at the next map
	sweepAt time.Time // no record held (outside requests in flight) expires before this

	epochs       []epochStat // oldest first; the last is the current epoch
	unreported   []*DropError
	flushWaiters []*flushWaiter

	stats                Stats
	retriesByCode        map[string]int64
	dropsByReason        map[DropReason][2]int64 // user records, bytes
	shutdownDropped      int
	shutdownDroppedBytes int64
	fallbackNoted        bool

	freeRecs    []*record
	deferred    []*DropError     // drops noted where they could not be reported
	mapChanges  []ShardMapChange // shard map changes not yet given to the hooks
	doneWaiters []*flushWaiter   // Flush calls to complete after the drops are reported
}

// takeDeferred returns and forgets the drops waiting to be reported.
func (st *state) takeDeferred() []*DropError {
	d := st.deferred
	st.deferred = nil
	return d
}

func (st *state) init(cfg Config, now time.Time) {
	st.shards = []*shard{{rng: aggregation.HashRange{End: aggregation.MaxHashKey}}}
	st.byID = map[string]*shard{}
	st.epochs = []epochStat{{epoch: 1}}
	st.retriesByCode = map[string]int64{}
	st.dropsByReason = map[DropReason][2]int64{}
	_, _ = cfg, now
}

// hasRoom reports whether a user record whose charge is at most need bytes
// may enter: fewer than BacklogCount user records wait to be sent and the
// bytes held leave room for it (a record over the byte budget enters an
// empty producer). The caller drops kept body buffers first if they are in
// the way.
func (st *state) hasRoom(need int64, cfg *Config) bool {
	if st.heldCount == 0 {
		return true
	}
	return st.queued < cfg.BacklogCount && st.mem+need <= cfg.BacklogBytes
}

// roomFreedLocked wakes the Puts waiting for room, if any.
func (st *state) roomFreedLocked() {
	if st.roomWaiters > 0 {
		st.wakeRoomWaitersLocked()
	}
}

// roomWaiterLocked registers a Put waiting for room and returns the channel
// closed when room frees.
func (st *state) roomWaiterLocked() <-chan struct{} {
	if st.room == nil {
		st.room = make(chan struct{})
	}
	st.roomWaiters++
	return st.room
}

// wakeRoomWaitersLocked wakes every Put waiting for room.
func (st *state) wakeRoomWaitersLocked() {
	if st.room != nil {
		close(st.room)
		st.room = nil
	}
}

// current returns the current epoch.
func (st *state) current() *epochStat { return &st.epochs[len(st.epochs)-1] }

// epochOf returns the stats of epoch e, which must still be tracked.
func (st *state) epochOf(e uint64) *epochStat {
	for i := range st.epochs {
		if st.epochs[i].epoch == e {
			return &st.epochs[i]
		}
	}
	return st.current() // cannot happen: an epoch is tracked while it has records
}

// pendingUpTo returns the user records pending in epochs up to e.
func (st *state) pendingUpTo(e uint64) int {
	n := 0
	for _, ep := range st.epochs {
		if ep.epoch <= e {
			n += ep.pending
		}
	}
	return n
}

// retireLocked forgets ended epochs other than the current one, keeping
// their drops for the next Flush, and completes the Flush calls waiting for
// them.
func (st *state) retireLocked() {
	last := len(st.epochs) - 1
	kept := st.epochs[:0]
	for i, ep := range st.epochs {
		if ep.pending == 0 && i != last {
			st.unreported = mergeDrops(st.unreported, ep.drops...)
			continue
		}
		kept = append(kept, ep)
	}
	clear(st.epochs[len(kept):])
	st.epochs = kept
	oldest := st.epochs[0].epoch
	waiters := st.flushWaiters[:0]
	for _, w := range st.flushWaiters {
		// Flush made its epoch old, so the current one is newer: the
		// waiter is done once no older epoch is tracked.
		if w.epoch < oldest {
			w.err = st.takeUnreported()
			st.doneWaiters = append(st.doneWaiters, w)
			continue
		}
		waiters = append(waiters, w)
	}
	clear(st.flushWaiters[len(waiters):])
	st.flushWaiters = waiters
}

// takeUnreported returns the drops no Flush reported yet, joined, and
// forgets them.
func (st *state) takeUnreported() error {
	if len(st.unreported) == 0 {
		return nil
	}
	errs := make([]error, len(st.unreported))
	for i, d := range st.unreported {
		errs[i] = d
	}
	st.unreported = nil
	return errors.Join(errs...)
}

// removeWaiter forgets a Flush that gave up; false if it completed already.
func (st *state) removeWaiter(w *flushWaiter) bool {
	for i, x := range st.flushWaiters {
		if x == w {
			st.flushWaiters = append(st.flushWaiters[:i], st.flushWaiters[i+1:]...)
			return true
		}
	}
	return false
}

// mergeDrops adds drops to list, one DropError per reason: counts are summed
// and the first error kept.
func mergeDrops(list []*DropError, drops ...*DropError) []*DropError {
next:
	for _, d := range drops {
		for _, l := range list {
			if l.Reason == d.Reason {
				l.Records += d.Records
				l.Bytes += d.Bytes
				l.Items += d.Items
				l.Attempts = max(l.Attempts, d.Attempts)
				continue next
			}
		}
		c := *d
		list = append(list, &c)
	}
	return list
}
