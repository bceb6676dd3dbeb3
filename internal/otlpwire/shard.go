package otlpwire

import (
	"bytes"
	"cmp"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"math"

	"go.opentelemetry.io/otel/trace"
)

// ShardMapper predicts which shard of a stream a partition key lands on, for
// [PartitionByShard].
type ShardMapper interface {
	// ShardMap returns the stream's current shard map, which an encoder then
	// uses for one whole batch; nil when no usable map is known, and the
	// encoder then partitions that batch as PartitionByTraceID does.
	ShardMap() ShardMap
}

// ShardMap is a fixed view of a stream's shards.
type ShardMap interface {
	// Shard returns a number from 0 naming the shard whose hash key range
	// holds the hash key hi·2^64+lo: the MD5 digest of a partition key read
	// as a big-endian 128-bit integer, as Kinesis routes records. A negative
	// number means the shard is unknown: that key then gets records of its
	// own.
	Shard(hi, lo uint64) int
}

// shardGroups gives each span of a batch the group of the shard its trace
// ID's partition key maps to (PartitionByShard), remembering each trace's
// group for the batch, and keeps every span's trace ID, by input position,
// for sorting and for record keys.
type shardGroups struct {
	view    ShardMap
	byTrace map[trace.TraceID]int32
	last    trace.TraceID
	lastG   int32
	haveOne bool
	unknown int32           // groups handed out to traces of unknown shard: -1, -2, ...
	tids    []trace.TraceID // by input position
}

// reset starts a batch of n items under view.
func (g *shardGroups) reset(view ShardMap, n int) {
	g.view = view
	if g.byTrace == nil {
		g.byTrace = make(map[trace.TraceID]int32)
	}
	clear(g.byTrace)
	g.haveOne, g.unknown = false, 0
	if cap(g.tids) < n {
		g.tids = make([]trace.TraceID, n)
	}
	g.tids = g.tids[:n]
}

// release drops the batch's shard map, so that an idle encoder keeps no old
// map alive.
func (g *shardGroups) release() { g.view = nil }

// group records tid as the trace ID of the item at input position idx and
// returns its group: the shard of the trace ID's partition key (32
// lowercase hex digits), or a negative group of its own when the shard is
// unknown.
func (g *shardGroups) group(idx int32, tid trace.TraceID) int32 {
	g.tids[idx] = tid
	if g.haveOne && tid == g.last {
		return g.lastG
	}
	grp, ok := g.byTrace[tid]
	if !ok {
		var key [32]byte
		hex.Encode(key[:], tid[:])
		d := md5.Sum(key[:])
		s := g.view.Shard(binary.BigEndian.Uint64(d[:8]), binary.BigEndian.Uint64(d[8:]))
		if s >= 0 && s <= math.MaxInt32 {
			grp = int32(s)
		} else {
			g.unknown--
			grp = g.unknown
		}
		g.byTrace[tid] = grp
	}
	g.last, g.lastG, g.haveOne = tid, grp, true
	return grp
}

// compare orders items by group (shard), resource, scope, trace ID and
// input order: the traces of one shard share resource and scope
// containers, and each trace's spans sit together within a scope, so that a
// group split between records cuts as few traces as it can.
func (g *shardGroups) compare(a, b item) int {
	if a.group != b.group || a.res != b.res || a.scope != b.scope {
		return compareItems(a, b) // the trace ID halves are zero: group, resource, scope
	}
	if c := bytes.Compare(g.tids[a.idx][:], g.tids[b.idx][:]); c != 0 {
		return c
	}
	return cmp.Compare(a.idx, b.idx)
}

// key returns the partition key of a record whose first item is it: its
// trace ID as 32 lowercase hex digits, which maps to the record's shard.
func (g *shardGroups) key(it *item) string { return g.tids[it.idx].String() }
