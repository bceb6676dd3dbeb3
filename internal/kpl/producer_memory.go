package kpl

import (
	"encoding/base64"
	"slices"
	"strings"
	"unsafe"

	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
)

// Memory accounting. Config.BacklogBytes bounds st.mem, the bytes the
// producer holds for the records it was given, whatever form they are in:
//
//   - an aggregate being filled is charged its buffers (binCap: the most its
//     aggregator may have grown to for the largest aggregate it held, since
//     it is reused), plus the JSON entry its record will need in a request
//     body (its data in base64, 4/3 of its size, with the keys), plus the
//     key strings of its user records;
//   - a closed record is charged its buffer, its body entry and its
//     bookkeeping: never more than the aggregate it came from, whose bin is
//     then kept for the next aggregate or dropped;
//   - a request in flight is charged its body buffer, less the entries its
//     records hold already (the request's JSON framing and the buffer's
//     rounding);
//   - bins, record buffers and body buffers kept for reuse are charged
//     while kept, and dropped first when room is needed.
//
// A Put is admitted only if the upper bound of its charge (chargeBound) fits
// with room to spare for one request's charge beyond its records (its JSON
// framing and the rounding of its buffer: requestCharge) and for closing an
// aggregate to make room for it (sealCharge: the closed record gets its own
// buffer while its aggregator may be reused at once). Since each record
// holds its body entry from Put on, that is all a request needs: the
// dispatcher sends a request when that much is free, or when nothing is in
// flight (so nothing can deadlock on memory), and Puts can never take the
// room it needs. So st.mem stays within BacklogBytes, but for a single user
// record larger than the budget, which an empty producer takes.

// recordOverhead is what a Kinesis record costs beyond its data: the record
// itself and its entry in the PutRecordsInput of a request.
const recordOverhead = int64(unsafe.Sizeof(record{}) + unsafe.Sizeof(types.PutRecordsRequestEntry{}))

// userBook bounds what a user record costs an aggregator beyond its bytes:
// its item count and its key's entries in the key table and its index, as
// they grow by doubling (TestBinCap measures it).
const userBook = 72

// binCap bounds the memory of an aggregator that held at most size bytes
// and count user records: its byte buffers grow by a quarter at a time (and
// are rounded up by the allocator), its tables by the user record, plus a
// little for the rest.
func binCap(size, count int) int64 {
	return allocSize(size+size/4) + userBook*int64(count) + 4096
}

// maxHashKey is the longest explicit hash key the producer writes, for the
// body entry of an aggregate whose outer key is not chosen yet.
var maxHashKey = strings.Repeat("9", aggregation.MaxHashKeyDigits)

// allocSize bounds the bytes the Go allocator takes for an object of n
// bytes: below 32 KiB its size classes are at most a fifth larger than the
// size asked for, and larger objects are rounded up to 8 KiB pages.
func allocSize(n int) int64 { return int64(n + min(n/4+16, 8191)) }

// base64Len is the length of n bytes in standard base64.
func base64Len(n int) int64 { return int64(base64.StdEncoding.EncodedLen(n)) }

// chargeBound bounds what admitting a user record adds to st.mem: alone
// bounds the size it adds to an aggregate (the Kinesis size of an aggregate
// holding it alone), binCap grows by at most 25/16 of that and the body
// entry by 4/3, and it may open a new aggregate.
func chargeBound(alone int, pk, ehk string) int64 {
	n := int64(alone)
	return n*25/16 + 4 + n*4/3 + 4 + userBook + int64(len(pk)+len(ehk)) + openBound(pk) + binCap(0, 0)
}

// openBound bounds openCharge(pk) without reading pk: JSON escapes take
// at most six bytes per byte.
func openBound(pk string) int64 {
	return recordOverhead + 2*aggregation.MaxHashKeyDigits + 6*int64(len(pk)) + 128
}

// openCharge is what an aggregate whose first user record has partition key
// pk costs beyond its bytes and user records: its record's bookkeeping, its
// explicit hash key string and its body entry's framing with both keys and
// the comma before it.
func openCharge(pk string) int64 {
	return recordOverhead + aggregation.MaxHashKeyDigits + entryLen(0, pk, maxHashKey) + 1
}

// entryLen is the length of a record's JSON object in a PutRecords body as
// internal/putrecords writes it (its BodySize count, which
// TestBodyEntries holds this to): {"Data":"...","PartitionKey":"..."}, with
// ,"ExplicitHashKey":"..." if there is one.
func entryLen(dataLen int, pk, ehk string) int64 {
	n := int64(len(`{"Data":"","PartitionKey":}`)) + base64Len(dataLen) + jsonLen(pk)
	if ehk != "" {
		n += int64(len(`,"ExplicitHashKey":`)) + jsonLen(ehk)
	}
	return n
}

// jsonLen is the length of s as a JSON string as internal/putrecords counts
// it: exact for printable ASCII without quotes or backslashes (any key the
// producer sees in practice), six bytes (\u00XX) for any other byte.
func jsonLen(s string) int64 {
	n := int64(len(s)) + 2
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c >= 0x80 || c == '"' || c == '\\' {
			n += 5
		}
	}
	return n
}

// charge is what b costs now: see the accounting above. The record it
// closes into never costs more.
func (b *bin) charge() int64 {
	n := b.agg.Size()
	return binCap(b.peakSize, b.peakCount) + base64Len(n) + b.fixed + b.extra
}

// addToBinLocked adds a user record to b and charges what b grew by.
func (p *Producer) addToBinLocked(b *bin, h aggregation.HashKey, pk, ehk string, data []byte, tags []aggregation.Tag, size int64, items int32) {
	if b.agg.Count() == 0 {
		b.fixed = openCharge(pk)
	}
	b.add(h, pk, ehk, data, tags, size, items)
	b.peakSize = max(b.peakSize, b.agg.Size())
	b.peakCount = max(b.peakCount, b.agg.Count())
	b.extra += int64(len(pk) + len(ehk))
	c := b.charge()
	p.st.mem += c - b.mem
	b.mem = c
}

// getBinLocked returns an empty bin: a kept one if there is, else a new
// one. A kept bin stays charged its buffers (binCap), now as an open one.
func (p *Producer) getBinLocked() *bin {
	st := &p.st
	k := len(st.binIdle)
	if k == 0 {
		return new(bin)
	}
	b := st.binIdle[k-1]
	st.binIdle[k-1] = nil
	st.binIdle = st.binIdle[:k-1]
	st.idleBytes -= b.mem
	st.idleUsed = true
	return b
}

// dropBinLocked releases the charge of a bin whose records were copied out
// or dropped, and keeps it for the next aggregate, charged its buffers,
// unless it grew past an aggregate's size (it held a user record too large
// to aggregate, re-aggregated for new shards after a reshard: a new such
// record bypasses bins, see addLocked) or enough are kept: four a shard.
func (p *Producer) dropBinLocked(b *bin) {
	st := &p.st
	st.mem -= b.mem
	b.agg.Reset()
	b.userBytes = 0
	b.weights = b.weights[:0]
	b.fixed, b.extra = 0, 0
	b.mem = 0
	if b.peakSize > p.aggMax || len(st.binIdle) >= p.maxBins*len(st.shards) {
		return
	}
	b.mem = binCap(b.peakSize, b.peakCount)
	st.binIdle = append(st.binIdle, b)
	st.idleBytes += b.mem
	st.mem += b.mem
	p.trimIdleLocked()
}

// chargeRecordLocked sets what a record holding its data and keys costs and
// charges it.
func (p *Producer) chargeRecordLocked(r *record) {
	r.body = entryLen(len(r.data), r.pk, r.ehk) + 1
	r.mem = int64(cap(r.data)) + r.body + recordOverhead + int64(len(r.pk)+len(r.ehk)) + 4*int64(len(r.weights))
	p.st.mem += r.mem
}

// ownCopy returns a copy of data in a new buffer with room for n bytes,
// whose capacity is what the allocator took for it.
func ownCopy(data []byte, n int) []byte {
	return append(slices.Grow([]byte(nil), max(n, len(data)))[:0], data...)
}

// sealCharge bounds what closing an aggregate of at most aggMax bytes adds
// to st.mem when the aggregator is kept and reused at once (a Put that finds
// every aggregate of its shard too full closes the fullest and fills a new
// one, which may be that aggregator): the record's own buffer (allocSize),
// plus its item weights, 4 bytes a user record, of which an aggregate holds
// fewer than one per 4 bytes. The rest of the record's charge (its body
// entry, its bookkeeping and keys) was the aggregate's already.
func sealCharge(aggMax int) int64 { return allocSize(aggMax) + int64(aggMax) }

// requestCharge bounds what a request whose body has frame bytes of framing
// is charged beyond its records' body entries: the framing and the
// allocator's rounding of a new buffer (allocSize).
func requestCharge(frame int) int64 { return int64(frame) + 8191 + 16 }

// requestFrame returns the body size of the producer's PutRecords requests
// without their records: {"Records":[],"StreamName":"...","StreamARN":"..."}.
func requestFrame(cfg *Config) int {
	n := int64(len(`{"Records":[]}`))
	if cfg.StreamName != "" {
		n += int64(len(`,"StreamName":`)) + jsonLen(cfg.StreamName)
	}
	if cfg.StreamARN != "" {
		n += int64(len(`,"StreamARN":`)) + jsonLen(cfg.StreamARN)
	}
	return int(n)
}

// ---- kept buffers ----

// keptRecBufLocked returns a kept record buffer, empty, for a record of n
// bytes if one is free and n fills at least half of it, else nil (the
// caller then allocates one of the record's size). Either way the record is
// then charged its buffer's capacity, which for a kept buffer is charged
// already: taking it never adds.
func (p *Producer) keptRecBufLocked(n int) []byte {
	st := &p.st
	k := len(st.recIdle)
	if k == 0 || n > p.recCap || n < p.recCap/2 {
		return nil
	}
	buf := st.recIdle[k-1]
	st.recIdle[k-1] = nil
	st.recIdle = st.recIdle[:k-1]
	st.idleBytes -= int64(p.recCap)
	st.mem -= int64(p.recCap)
	st.idleUsed = true
	return buf
}

// recBackLocked keeps the buffer of a record that ended if it has the
// kept size, up to a request's worth of them.
func (p *Producer) recBackLocked(buf []byte) {
	st := &p.st
	if cap(buf) != p.recCap || len(st.recIdle) >= p.recKeep {
		return
	}
	st.recIdle = append(st.recIdle, buf[:0])
	st.idleBytes += int64(p.recCap)
	st.mem += int64(p.recCap)
}

// bodyBufLocked gives batch b a body buffer: the smallest kept buffer with
// room for its body if there is one, else a new one to be allocated by send
// (with room to spare for the next bodies if the budget has it). It charges
// what the buffer costs beyond the body entries its records hold already.
func (p *Producer) bodyBufLocked(b *batch) {
	st := &p.st
	b.reserved = 0
	for _, r := range b.recs {
		b.reserved += r.body
	}
	b.need = int(int64(p.frame) + b.reserved - 1)
	best := -1
	for i, buf := range st.idle {
		if cap(buf) >= b.need && (best < 0 || cap(buf) < cap(st.idle[best])) {
			best = i
		}
	}
	if best >= 0 {
		b.body = st.idle[best]
		last := len(st.idle) - 1
		st.idle[best] = st.idle[last]
		st.idle[last] = nil
		st.idle = st.idle[:last]
		b.bodyCharge = allocSize(cap(b.body))
		st.idleBytes -= b.bodyCharge
		st.mem -= b.bodyCharge
		st.idleUsed = true
	} else {
		b.body = nil
		b.size = b.need
		b.bodyCharge = allocSize(b.need)
		// Bodies vary a little in size: a buffer a sixteenth larger is
		// reused by the next ones, if the budget has room for it.
		if roomy := b.need + b.need/16; st.mem+allocSize(roomy)-b.reserved <= p.cfg.BacklogBytes {
			b.size, b.bodyCharge = roomy, allocSize(roomy)
		}
	}
	st.mem += b.bodyCharge - b.reserved
	p.trimIdleLocked()
}

// bodyBackLocked takes back the body buffer of a request that ended and
// keeps it for the next requests, at most one per connection.
func (p *Producer) bodyBackLocked(b *batch) {
	st := &p.st
	st.mem -= b.bodyCharge - b.reserved
	buf := b.body
	b.body, b.bodyCharge, b.reserved = nil, 0, 0
	if cap(buf) == 0 || len(st.idle) >= p.cfg.MaxConnections {
		return
	}
	c := allocSize(cap(buf))
	st.idle = append(st.idle, buf[:0])
	st.idleBytes += c
	st.mem += c
	p.trimIdleLocked()
}

// trimIdleLocked drops kept buffers while the producer holds more than its
// budget.
func (p *Producer) trimIdleLocked() {
	p.freeIdleLocked(p.st.mem - p.cfg.BacklogBytes)
}

// freeIdleLocked drops kept buffers, record buffers first, then bins, then
// body buffers largest first, until n bytes are freed or none is left.
func (p *Producer) freeIdleLocked(n int64) {
	st := &p.st
	for n > 0 && len(st.recIdle) > 0 {
		k := len(st.recIdle) - 1
		st.recIdle[k] = nil
		st.recIdle = st.recIdle[:k]
		st.idleBytes -= int64(p.recCap)
		st.mem -= int64(p.recCap)
		n -= int64(p.recCap)
	}
	for n > 0 && len(st.binIdle) > 0 {
		k := len(st.binIdle) - 1
		b := st.binIdle[k]
		st.binIdle[k] = nil
		st.binIdle = st.binIdle[:k]
		st.idleBytes -= b.mem
		st.mem -= b.mem
		n -= b.mem
	}
	for n > 0 && len(st.idle) > 0 {
		big := 0
		for i, buf := range st.idle {
			if cap(buf) > cap(st.idle[big]) {
				big = i
			}
		}
		c := allocSize(cap(st.idle[big]))
		last := len(st.idle) - 1
		st.idle[big] = st.idle[last]
		st.idle[last] = nil
		st.idle = st.idle[:last]
		st.idleBytes -= c
		st.mem -= c
		n -= c
	}
}

// allocCap returns the capacity the allocator gives a buffer of n bytes.
func allocCap(n int) int { return cap(slices.Grow([]byte(nil), n)) }
