package kinesistest

import (
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
)

// Stream modes.
const (
	modeProvisioned = "PROVISIONED"
	modeOnDemand    = "ON_DEMAND"
	// onDemandShards is the shard count of a new ON_DEMAND stream.
	onDemandShards = 4
	// maxShardsPerStream bounds a stream's open shards (CreateStream, UpdateShardCount)
	// so that a typo cannot make the server allocate millions of shards.
	maxShardsPerStream = 10000
)

// stream is one Kinesis data stream. Every field is guarded by Server.mu.
type stream struct {
	name, arn    string
	gen          uint64 // tells a re-created stream of the same name from the old one
	created      time.Time
	mode         string
	maxRecordKiB int
	shards       []*shard // every shard ever created, in creation order: index = shard number
	seq          uint64   // the last sequence number given out, stream-wide
	deleted      bool
}

// shard is one shard of a stream. Every field is guarded by Server.mu.
type shard struct {
	id                     string
	rng                    aggregation.HashRange
	parent, adjacentParent string
	startSeq, endSeq       uint64 // endSeq is 0 while the shard is open
	open                   bool
	created, closed        time.Time
	records                []storedRecord
	bucket                 *bucket // nil unless write capacity is enforced
	accepted, throttled    int64
}

type storedRecord struct {
	seq     uint64
	pk, ehk string
	hash    aggregation.HashKey
	data    []byte
	arrival time.Time
}

// Sequence numbers are 56 decimal digits, "49" then the stream-wide counter padded with
// zeros, so that they compare the same as strings and as numbers, look like AWS's, and
// increase along each shard and from a parent shard to its children.
const (
	seqDigits = 56
	seqPrefix = "49"
)

func formatSeq(n uint64) string {
	return fmt.Sprintf("%s%0*d", seqPrefix, seqDigits-len(seqPrefix), n)
}

// parseSeq reads a sequence number written by formatSeq.
func parseSeq(s string) (uint64, bool) {
	if len(s) != seqDigits || !strings.HasPrefix(s, seqPrefix) {
		return 0, false
	}
	digits := strings.TrimLeft(s[len(seqPrefix):], "0")
	if digits == "" {
		return 0, true
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	return n, err == nil
}

func shardID(n int) string { return fmt.Sprintf("shardId-%012d", n) }

// parseShardID accepts a shard ID as Kinesis does: "shardId-000000000001", or the number
// with fewer zeros or without the prefix, and returns the shard number.
func parseShardID(s string) (int, bool) {
	digits := strings.TrimPrefix(s, "shardId-")
	if digits == "" || len(digits) > 12 {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(digits)
	return n, err == nil
}

// canonicalShardID writes a shard ID the way Kinesis lists it, so that IDs compare as
// strings in creation order; an ID that parseShardID cannot read is returned as it is.
func canonicalShardID(s string) string {
	if n, ok := parseShardID(s); ok {
		return shardID(n)
	}
	return s
}

// uniformRanges splits the hash key space 0..2^128-1 into n ranges the way Kinesis lays
// out a new stream: with q = floor(2^128 / n), shard i starts at i*q and ends one below
// the next shard's start; the last shard ends at 2^128-1 and so absorbs the remainder.
func uniformRanges(n int) []aggregation.HashRange {
	space := new(big.Int).Lsh(big.NewInt(1), 128)
	q := new(big.Int).Quo(space, big.NewInt(int64(n)))
	starts := make([]aggregation.HashKey, n)
	for i := range starts {
		starts[i] = bigToHashKey(new(big.Int).Mul(q, big.NewInt(int64(i))))
	}
	ranges := make([]aggregation.HashRange, n)
	for i := range ranges {
		end := aggregation.MaxHashKey
		if i+1 < n {
			end = prevKey(starts[i+1])
		}
		ranges[i] = aggregation.HashRange{Start: starts[i], End: end}
	}
	return ranges
}

func bigToHashKey(b *big.Int) aggregation.HashKey {
	var buf [16]byte
	b.FillBytes(buf[:])
	var h aggregation.HashKey
	for i := 0; i < 8; i++ {
		h.Hi = h.Hi<<8 | uint64(buf[i])
		h.Lo = h.Lo<<8 | uint64(buf[8+i])
	}
	return h
}

// nextKey returns h+1; the caller ensures h < 2^128-1.
func nextKey(h aggregation.HashKey) aggregation.HashKey {
	h.Lo++
	if h.Lo == 0 {
		h.Hi++
	}
	return h
}

// prevKey returns h-1; the caller ensures h > 0.
func prevKey(h aggregation.HashKey) aggregation.HashKey {
	if h.Lo == 0 {
		h.Hi--
	}
	h.Lo--
	return h
}

func (st *stream) nextSeq() uint64 {
	st.seq++
	return st.seq
}

// addShard opens a new shard over rng. Its starting sequence number is the next one to be
// given out, so every record it will hold is at or above it.
func (st *stream) addShard(rng aggregation.HashRange, parent, adjacentParent string, now time.Time, capacity *WriteCapacity) *shard {
	sh := &shard{
		id:             shardID(len(st.shards)),
		rng:            rng,
		parent:         parent,
		adjacentParent: adjacentParent,
		startSeq:       st.seq + 1,
		open:           true,
		created:        now,
	}
	if capacity != nil {
		sh.bucket = newBucket(*capacity, now)
	}
	st.shards = append(st.shards, sh)
	return sh
}

// closeShard closes sh: it keeps its records and gets an ending sequence number at or
// above all of them (and above its start), and no longer accepts writes.
func (st *stream) closeShard(sh *shard, now time.Time) {
	sh.open = false
	sh.endSeq = st.nextSeq()
	sh.closed = now
}

func (st *stream) shard(id string) *shard {
	n, ok := parseShardID(id)
	if !ok || n >= len(st.shards) {
		return nil
	}
	return st.shards[n]
}

// openShards returns the open shards ordered by their hash range.
func (st *stream) openShards() []*shard {
	var open []*shard
	for _, sh := range st.shards {
		if sh.open {
			open = append(open, sh)
		}
	}
	sort.Slice(open, func(i, j int) bool { return open[i].rng.Start.Compare(open[j].rng.Start) < 0 })
	return open
}

// route returns the open shard whose range holds h. The open shards always cover the
// whole key space, so there is one.
func (st *stream) route(h aggregation.HashKey) *shard {
	for _, sh := range st.shards {
		if sh.open && sh.rng.Contains(h) {
			return sh
		}
	}
	return nil
}

func (st *stream) children(parentID string) []*shard {
	var out []*shard
	for _, sh := range st.shards {
		if sh.parent == parentID || sh.adjacentParent == parentID {
			out = append(out, sh)
		}
	}
	return out
}

// split closes sh and opens two children, the first over sh's start to newStart-1, the
// second over newStart to sh's end. The caller ensures sh.rng.Start < newStart <= End.
func (st *stream) split(sh *shard, newStart aggregation.HashKey, now time.Time, capacity *WriteCapacity) (*shard, *shard) {
	st.closeShard(sh, now)
	lo := st.addShard(aggregation.HashRange{Start: sh.rng.Start, End: prevKey(newStart)}, sh.id, "", now, capacity)
	hi := st.addShard(aggregation.HashRange{Start: newStart, End: sh.rng.End}, sh.id, "", now, capacity)
	return lo, hi
}

// merge closes a and b, whose ranges are adjacent, and opens one child over both: its
// parent is a and its adjacent parent b, as MergeShards names them.
func (st *stream) merge(a, b *shard, now time.Time, capacity *WriteCapacity) *shard {
	st.closeShard(a, now)
	st.closeShard(b, now)
	rng := aggregation.HashRange{Start: a.rng.Start, End: b.rng.End}
	if b.rng.Start.Compare(a.rng.Start) < 0 {
		rng = aggregation.HashRange{Start: b.rng.Start, End: a.rng.End}
	}
	return st.addShard(rng, a.id, b.id, now, capacity)
}

// adjacent reports whether the ranges of a and b meet with no gap, in either order.
func adjacent(a, b *shard) bool {
	meets := func(lo, hi *shard) bool {
		return lo.rng.End != aggregation.MaxHashKey && nextKey(lo.rng.End) == hi.rng.Start
	}
	return meets(a, b) || meets(b, a)
}

// reshardUniform brings the open shards to target shards of uniform ranges (the layout of
// a new stream of that many shards) the way UpdateShardCount with UNIFORM_SCALING does:
// by splits and merges, so that every child has at most two parents. First each target
// boundary that is not already a boundary splits the open shard containing it; then the
// shards that make up each target range merge left to right, the intermediate shards
// closing at once, empty.
func (st *stream) reshardUniform(target int, now time.Time, capacity *WriteCapacity) {
	want := uniformRanges(target)
	for _, r := range want[1:] {
		b := r.Start
		sh := st.route(b)
		if sh.rng.Start != b {
			st.split(sh, b, now, capacity)
		}
	}
	for _, r := range want {
		var parts []*shard
		for _, sh := range st.openShards() {
			if r.Contains(sh.rng.Start) {
				parts = append(parts, sh)
			}
		}
		acc := parts[0]
		for _, next := range parts[1:] {
			acc = st.merge(acc, next, now, capacity)
		}
	}
}

// appendRecord stores one record on sh and returns its sequence number.
func (st *stream) appendRecord(sh *shard, rec storedRecord, keep bool) uint64 {
	rec.seq = st.nextSeq()
	sh.accepted++
	if keep {
		sh.records = append(sh.records, rec)
	}
	return rec.seq
}

// firstAtOrAfter returns the index of sh's first record whose sequence number is at or
// above seq.
func (sh *shard) firstAtOrAfter(seq uint64) int {
	return sort.Search(len(sh.records), func(i int) bool { return sh.records[i].seq >= seq })
}

// openAt reports whether sh was open at time t.
func (sh *shard) openAt(t time.Time) bool {
	return !sh.created.After(t) && (sh.open || sh.closed.After(t))
}

// bucket is one shard's write capacity: token buckets for bytes and records.
type bucket struct {
	cap            WriteCapacity
	bytes, records float64
	last           time.Time
}

func newBucket(c WriteCapacity, now time.Time) *bucket {
	return &bucket{cap: c, bytes: float64(c.BurstBytes), records: float64(c.BurstRecords), last: now}
}

// take refills the buckets for the time since the last call and takes one record and n
// bytes if both fit. A record larger than the byte burst passes when the byte bucket is
// full, leaving it in debt, so that such a record is slowed down rather than refused
// forever.
func (b *bucket) take(now time.Time, n int) bool {
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.bytes = min(float64(b.cap.BurstBytes), b.bytes+dt*float64(b.cap.BytesPerSecond))
		b.records = min(float64(b.cap.BurstRecords), b.records+dt*float64(b.cap.RecordsPerSecond))
		b.last = now
	}
	fits := b.bytes >= float64(n) || b.bytes >= float64(b.cap.BurstBytes)
	if b.records < 1 || !fits {
		return false
	}
	b.records--
	b.bytes -= float64(n)
	return true
}
