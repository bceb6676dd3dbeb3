package kpl

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
	"github.com/otelkinesis/otelkinesis/internal/plural"
	"github.com/otelkinesis/otelkinesis/internal/reqbuf"
)

// ---- putting user records into aggregates ----

// addLocked takes an admitted user record into the backlog and its shard's
// aggregates. alone is its Kinesis size on its own. Its delivery budget starts now; the
// time is read only where it is kept: for a record of its own, or an aggregate it opens
// (an aggregate's budget is its first user record's).
func (p *Producer) addLocked(h aggregation.HashKey, pk, ehk string, data []byte, tags []aggregation.Tag, size int64, alone int, items int32) {
	st := &p.st
	ep := st.current()
	ep.pending++
	st.heldCount++
	st.heldBytes += size
	st.stats.UserRecordsPut++
	st.stats.UserBytesPut += size
	s := p.shardForLocked(h)

	if p.cfg.DisableAggregation {
		r := p.newRecordLocked()
		r.data = append(p.keptRecBufLocked(len(data)), data...) // nil: a buffer of its size class
		r.born = time.Now()
		p.queueLoneLocked(r, pk, ehk, h, size, items, s, ep.epoch)
		return
	}
	if alone > p.aggMax {
		// Too large to share an aggregate: its aggregated record is written
		// straight into the record's buffer (alone is exact here), not through
		// a bin whose aggregator would grow to hold a copy of it first. Like
		// an aggregate, it is routed by its (first) user record's hash key.
		r := p.newRecordLocked()
		n := alone - len(pk)
		buf := p.keptRecBufLocked(n)
		if buf == nil {
			buf = ownCopy(nil, n)
		}
		r.data = aggregation.AppendSingle(buf, pk, ehk, data, tags)
		r.born = time.Now()
		p.queueLoneLocked(r, pk, string(h.AppendDecimal(p.scratch[:0])), h, size, items, s, ep.epoch)
		return
	}

	fallback := st.smap == nil
	sealed := false
	best, bestSize := -1, -1
	for i, b := range s.bins {
		if fallback && b.first != h {
			continue // without a map only one hash key per aggregate is safe
		}
		n := b.agg.SizeWith(pk, ehk, len(data), tags) + b.pkLen
		if n <= p.aggMax && n > bestSize {
			best, bestSize = i, n
		}
	}
	if best < 0 {
		if len(s.bins) >= p.maxBins {
			full := 0
			for i, b := range s.bins {
				if b.size() > s.bins[full].size() {
					full = i
				}
			}
			p.sealLocked(s, full)
			sealed = true
		}
		s.bins = append(s.bins, p.getBinLocked())
		best = len(s.bins) - 1
	}
	b := s.bins[best]
	if b.agg.Count() == 0 {
		b.born = time.Now()
		p.expiresLocked(b.born)
	}
	p.addToBinLocked(b, h, pk, ehk, data, tags, size, items)
	// One seal a Put at most for packing (the Put's room holds one; see
	// producer_memory.go).
	if int64(b.agg.Count()) >= p.cfg.AggregateBatchCount || !sealed && p.packed(b) {
		p.sealLocked(s, best)
	}
}

// queueLoneLocked queues r, whose data holds one user record of hash key h
// (plain, or aggregated alone), as a Kinesis record with partition key pk and
// explicit hash key ehk.
func (p *Producer) queueLoneLocked(r *record, pk, ehk string, h aggregation.HashKey, size int64, items int32, s *shard, epoch uint64) {
	r.pk, r.ehk = pk, ehk
	r.size = len(r.data) + len(pk)
	r.users, r.userBytes = 1, size
	r.weights, r.items = append(r.weights[:0], items), int64(items)
	r.lo, r.hi = h, h
	r.shard, r.epoch = s, epoch
	p.chargeRecordLocked(r)
	p.enqueueLocked(r, false)
}

// putUnit is the PUT payload unit of a provisioned stream: every record pays
// for its data and partition key in whole units of 25 KiB.
const putUnit = 25 << 10

// packed reports whether b, as a record, would fill the PUT payload units it
// pays for to within 1 %, and pay for at least half of the size limit, when
// aggregates may span more than two units (aggregate_batch_size above its
// default). Such an aggregate is closed at once: filled on towards the limit,
// it would start a unit that the next user records might fill only in part.
// With user records of one size s, this takes the waste per aggregate from up
// to s down to 1 %, while records stay large. With the default size,
// aggregates of two units at most are filled to the limit as before.
func (p *Producer) packed(b *bin) bool {
	if p.aggMax <= 2*putUnit {
		return false
	}
	size := b.size()
	paid := (size + putUnit - 1) / putUnit * putUnit
	return 2*paid >= p.aggMax && paid-size < paid/100
}

// shardForLocked returns the predicted shard of hash key h.
func (p *Producer) shardForLocked(h aggregation.HashKey) *shard {
	if p.st.smap == nil {
		return p.st.shards[0]
	}
	return p.st.shards[p.st.smap.find(h)]
}

// sealLocked closes the i-th aggregate of s and queues it.
func (p *Producer) sealLocked(s *shard, i int) {
	b := s.bins[i]
	last := len(s.bins) - 1
	s.bins[i] = s.bins[last]
	s.bins[last] = nil
	s.bins = s.bins[:last]
	p.enqueueLocked(p.recordFromBin(b, s, p.st.current().epoch), false)
}

// sealAllLocked closes every aggregate being filled.
func (p *Producer) sealAllLocked() {
	for _, s := range p.st.shards {
		for len(s.bins) > 0 {
			p.sealLocked(s, len(s.bins)-1)
		}
	}
}

// sealIdleLocked closes the aggregates of shards with nothing queued, on a
// flush interval tick. A shard whose queue waits for its rate limit keeps
// filling its aggregates: closing them would not send them sooner, only
// smaller.
func (p *Producer) sealIdleLocked() {
	for _, s := range p.st.shards {
		if s.retry.len()+s.fresh.len() > 0 {
			continue
		}
		for len(s.bins) > 0 {
			p.sealLocked(s, len(s.bins)-1)
		}
	}
}

// recordFromBin encodes an aggregate into a record for shard s (in a kept
// record buffer or one of its own size), moves the bin's charge to the
// record and recycles the bin.
func (p *Producer) recordFromBin(b *bin, s *shard, epoch uint64) *record {
	r := p.newRecordLocked()
	n := b.agg.Size()
	buf := p.keptRecBufLocked(n)
	if buf == nil {
		buf = ownCopy(nil, n)
	}
	r.data = b.agg.AppendTo(buf)
	r.pk = b.agg.PartitionKey(0)
	r.ehk = string(b.first.AppendDecimal(p.scratch[:0]))
	r.size = len(r.data) + len(r.pk)
	r.users = b.agg.Count()
	r.userBytes = b.userBytes
	r.weights = append(r.weights[:0], b.weights...)
	r.items = 0
	for _, w := range b.weights {
		r.items += int64(w)
	}
	r.lo, r.hi = b.lo, b.hi
	r.born = b.born
	r.shard, r.epoch = s, epoch
	p.chargeRecordLocked(r)
	p.dropBinLocked(b)
	return r
}

// enqueueLocked queues a record on its shard, retries first, and wakes the
// dispatcher when a batch is due.
func (p *Producer) enqueueLocked(r *record, retry bool) {
	st := &p.st
	if retry {
		r.shard.retry.push(r)
	} else {
		r.shard.fresh.push(r)
	}
	st.readyCount++
	st.readyBytes += r.size
	r.shard.ready += r.size
	st.queued += r.users
	p.expiresLocked(r.born)
	if st.force || st.readyCount >= p.cfg.BatchCount || st.readyBytes >= p.cfg.BatchSize {
		p.poke()
	}
}

// popLocked takes the next record off a shard queue.
func (p *Producer) popLocked(q *recQueue) *record {
	st := &p.st
	r := q.pop()
	st.readyCount--
	st.readyBytes -= r.size
	r.shard.ready -= r.size
	st.queued -= r.users
	st.roomFreedLocked()
	return r
}

// popRetryLocked takes the record whose retry is due first.
func (p *Producer) popRetryLocked() *record {
	r := heap.Pop(&p.st.retries).(*record)
	p.st.queued -= r.users
	p.st.roomFreedLocked()
	return r
}

// pressureLocked makes buffered records move because a Put waits for room:
// queued records go out in partial batches, and if nothing is queued or in
// flight (the backlog is all in open aggregates) the aggregates are closed.
func (p *Producer) pressureLocked() {
	st := &p.st
	st.force = true
	if st.readyCount == 0 && len(st.flights) == 0 {
		p.sealAllLocked()
	}
	p.poke()
}

// flushLocked closes every aggregate, starts a new epoch and registers a
// waiter for the old one.
func (p *Producer) flushLocked() *flushWaiter {
	st := &p.st
	p.sealAllLocked()
	old := st.current().epoch
	st.epochs = append(st.epochs, epochStat{epoch: old + 1})
	w := &flushWaiter{epoch: old, done: make(chan struct{})}
	st.flushWaiters = append(st.flushWaiters, w)
	st.retireLocked()
	return w
}

// ---- dispatching batches ----

// dispatchLoop sends batches when they are due: when one is full, on every
// flush interval, on Flush and Shutdown, and when a Put waits for room; it
// also moves records whose retry is due back into the queues.
func (p *Producer) dispatchLoop() {
	defer p.wg.Done()
	tick := time.NewTicker(p.cfg.FlushInterval)
	defer tick.Stop()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		p.mu.Lock()
		wait, sends := p.dispatchLocked(time.Now())
		p.wg.Add(len(sends))
		p.unlockReport(nil)
		for _, b := range sends {
			go p.send(b)
		}
		if wait > 0 {
			timer.Reset(wait)
		}
		select {
		case <-p.stop:
			return
		case <-p.wake:
		case <-timer.C:
		case <-tick.C:
			p.mu.Lock()
			if !p.st.idleUsed { // no request for a whole interval
				p.freeIdleLocked(p.st.idleBytes)
			}
			p.st.idleUsed = false
			p.sealIdleLocked()
			if p.st.readyCount > 0 {
				p.st.force = true
			}
			p.mu.Unlock()
		}
		timer.Stop()
	}
}

// dispatchLocked queues due retries, builds the batches that may go now and
// returns them with how long to wait before the next look (0: until poked).
func (p *Producer) dispatchLocked(now time.Time) (time.Duration, []*batch) {
	st := &p.st
	if st.abandoned {
		return 0, nil
	}
	if !st.sweepAt.IsZero() && !now.Before(st.sweepAt) {
		p.expireLocked(now)
	}
	for st.retries.Len() > 0 && !st.retries[0].due.After(now) {
		p.routeLocked(p.popRetryLocked(), true)
	}
	var wait time.Duration
	if st.retries.Len() > 0 {
		wait = st.retries[0].due.Sub(now)
	}
	if !st.sweepAt.IsZero() {
		if w := st.sweepAt.Sub(now); wait == 0 || w < wait {
			wait = max(w, time.Nanosecond)
		}
	}
	var sends []*batch
	for len(st.flights) < p.cfg.MaxConnections && st.readyCount > 0 {
		eager := st.force || st.closed || len(st.flushWaiters) > 0
		if !eager && st.readyCount < p.cfg.BatchCount && st.readyBytes < p.cfg.BatchSize {
			break
		}
		if len(st.flights) > 0 && st.mem-st.idleBytes+p.perReq > p.cfg.BacklogBytes {
			break // no room for its body yet: a request that ends makes some
		}
		if len(st.flights) >= smallBatchInflight && p.smallBatchLocked(now) {
			if w := p.youngFlightsLocked(now); w > 0 {
				if wait == 0 || w < wait {
					wait = w
				}
				break // a request that ends frees shards and memory for a larger batch
			}
		}
		b, limited := p.buildBatchLocked(now)
		if b == nil {
			if limited > 0 && (wait == 0 || limited < wait) {
				wait = limited
			}
			break
		}
		b.sent = now
		st.flights = append(st.flights, b)
		st.inflightUsers += b.users
		p.bodyBufLocked(b)
		sends = append(sends, b)
	}
	if st.readyCount == 0 {
		st.force = false
	}
	return wait, sends
}

// smallBatchInflight is how many requests may be in flight, sent within
// shardBusyGrace, before a small batch (smallBatchLocked) waits for one of
// them to end. A small batch goes at once when a Put waits for room or a
// flush is due, or when busy shards hold back the rest of a full one: with
// rate limiting, a shard takes one request at a time, and each request that
// ends frees only the shards it held. Sent at once, such batches feed on
// themselves: small requests end sooner and free fewer shards, and the
// producer settles into many requests of a few records, each paying the
// SDK's and HTTP's cost per request. Two in flight keep the stream moving
// while the rest gather into larger batches.
const smallBatchInflight = 2

// smallBatchLocked reports whether the records that may go now, those on
// shards no request in flight holds back (see buildBatchLocked), come to
// less than half a batch by bytes and by count.
func (p *Producer) smallBatchLocked(now time.Time) bool {
	st := &p.st
	bytes, count := 0, 0
	for _, s := range st.shards {
		if s.lim != nil && s.busy > 0 && now.Before(s.busySince.Add(p.busyGrace)) {
			continue
		}
		bytes += s.ready
		count += s.retry.len() + s.fresh.len()
	}
	return 2*bytes < p.cfg.BatchSize && 2*count < p.cfg.BatchCount
}

// youngFlightsLocked returns, if at least smallBatchInflight requests in
// flight were sent within shardBusyGrace, how long until the oldest of them
// is no longer young, else 0: like a busy shard, a stalled request holds
// nothing back for longer than that.
func (p *Producer) youngFlightsLocked(now time.Time) time.Duration {
	young, oldest := 0, time.Duration(0)
	for _, b := range p.st.flights {
		if left := b.sent.Add(p.busyGrace).Sub(now); left > 0 {
			young++
			if oldest == 0 || left < oldest {
				oldest = left
			}
		}
	}
	if young < smallBatchInflight {
		return 0
	}
	return oldest
}

// buildBatchLocked takes the records that may go now into one batch,
// shards in turn, within the count, byte and rate limits. It returns nil and
// the wait until a rate-limited shard may send if nothing may go.
func (p *Producer) buildBatchLocked(now time.Time) (*batch, time.Duration) {
	st := &p.st
	var (
		b     *batch
		bytes int
		wait  time.Duration
	)
	n := len(st.shards)
	start := st.rr % n
	st.rr = start + 1
	full := false
	for k := 0; k < n && !full; k++ {
		s := st.shards[(start+k)%n]
		if s.lim != nil && s.busy > 0 {
			// One request at a time per rate-limited shard: requests sent
			// together can arrive closer together than they were sent, and
			// the shard would count them against fewer tokens than we did.
			// A request slower than shardBusyGrace no longer holds the
			// shard back, so a stalled request stalls nothing else.
			if w := s.busySince.Add(p.busyGrace).Sub(now); w > 0 {
				if wait == 0 || w < wait {
					wait = w
				}
				continue
			}
		}
		taken := false
		for s.retry.len()+s.fresh.len() > 0 {
			q := &s.retry
			if q.len() == 0 {
				q = &s.fresh
			}
			r := q.peek()
			if b != nil && (len(b.recs) == p.cfg.BatchCount || bytes+r.size > p.cfg.BatchSize) {
				full = true
				break
			}
			if s.lim != nil {
				if w := s.lim.wait(r.size, now); w > 0 {
					if wait == 0 || w < wait {
						wait = w
					}
					break
				}
				s.lim.take(r.size)
			}
			p.popLocked(q)
			if b == nil {
				b = &batch{recs: make([]*record, 0, min(p.cfg.BatchCount, st.readyCount+1))}
			}
			b.recs = append(b.recs, r)
			b.users += r.users
			bytes += r.size
			taken = true
		}
		if taken {
			s.busy++
			s.busySince = now
			b.shards = append(b.shards, s)
		}
	}
	if b == nil {
		return nil, wait
	}
	return b, 0
}

// send makes one PutRecords request and hands the outcome to complete.
func (p *Producer) send(b *batch) {
	defer p.wg.Done()
	in := &kinesis.PutRecordsInput{Records: make([]types.PutRecordsRequestEntry, len(b.recs))}
	if p.cfg.StreamName != "" {
		in.StreamName = aws.String(p.cfg.StreamName)
	}
	if p.cfg.StreamARN != "" {
		in.StreamARN = aws.String(p.cfg.StreamARN)
	}
	for i, r := range b.recs {
		e := &in.Records[i]
		e.Data = r.data
		e.PartitionKey = &r.pk
		if r.ehk != "" {
			e.ExplicitHashKey = &r.ehk
		}
		if r.attempts == 0 && !p.cfg.DisableAggregation {
			p.meters.aggregated(r.users)
		}
		r.attempts++
	}
	if b.body == nil {
		b.body = ownCopy(nil, b.size)
	}
	// A request ends with its records' delivery budget at the latest, so that
	// nothing outlives it in a request that hangs.
	start := time.Now()
	end := start.Add(p.cfg.RequestTimeout)
	for _, r := range b.recs {
		if d := p.deadline(r); d.Before(end) {
			end = d
		}
	}
	ctx, cancel := context.WithDeadline(p.reqCtx, end)
	// The body goes into the buffer charged for it (putOptions, on any
	// *kinesis.Client).
	out, err := p.client.PutRecords(reqbuf.With(ctx, &b.body), in, putOptions)
	elapsed := time.Since(start)
	cancel()
	p.complete(b, out, err, elapsed)
}

// complete accounts for the outcome of one PutRecords request: delivered
// records end, failed ones are retried or dropped.
func (p *Producer) complete(b *batch, out *kinesis.PutRecordsOutput, err error, elapsed time.Duration) {
	now := time.Now()
	var notes []*DropError
	p.mu.Lock()
	st := &p.st
	if i := slices.Index(st.flights, b); i >= 0 {
		last := len(st.flights) - 1
		st.flights[i] = st.flights[last]
		st.flights[last] = nil
		st.flights = st.flights[:last]
	}
	st.inflightUsers -= b.users
	for _, s := range b.shards {
		s.busy--
	}
	st.stats.Requests++
	st.stats.KinesisRecordsSent += int64(len(b.recs))
	outcome := "success"
	var written *BatchWritten // for the hooks; nil when there are none
	if len(p.hooks.written) > 0 {
		written = &BatchWritten{Records: len(b.recs), UserRecords: b.users, Shards: len(b.shards), Latency: elapsed, Outcome: BatchSucceeded}
		for _, r := range b.recs {
			written.Bytes += int64(r.size)
		}
	}
	switch {
	case err != nil && st.abandoned:
		// Cancelled by a Shutdown whose context ended: Kinesis may or may
		// not have stored these; they are counted as dropped.
		outcome = "abandoned"
		if written != nil {
			written.Outcome, written.Failed, written.Err = BatchAbandoned, len(b.recs), err
		}
		cause := fmt.Errorf("%w (request: %w)", st.abandonCause, err)
		for _, r := range b.recs {
			p.dropLocked(r, DropShutdown, cause, &notes)
		}
	case err != nil || out == nil || len(out.Records) != len(b.recs):
		outcome = "error"
		st.stats.RequestsFailed++
		cls, code := classRetry, "bad_response"
		cause := err // nil for an answer that does not match the request
		if err == nil {
			err = fmt.Errorf("PutRecords answered %s for %s", plural.Count(resultCount(out), "result"), plural.Count(len(b.recs), "record"))
		} else {
			cls, code = classifyError(err)
		}
		outcome = code // the request's error.type
		err = fmt.Errorf("stream %q: PutRecords: %w", p.stream, err)
		if written != nil {
			written.Outcome, written.Failed, written.ErrorCode, written.Err = BatchFailed, len(b.recs), code, err
		}
		if reshardingCode(code) {
			p.askRefresh() // the shards may be changing: read them again (paced)
		}
		// A request the service refused (4xx) or that never left stored
		// nothing: sending it again cannot duplicate.
		ambiguous := cls == classRetry && mayHaveStored(cause)
		counts := cause == nil || answered(cause)
		for _, r := range b.recs {
			p.failLocked(r, cls, code, err, ambiguous, counts, now, &notes)
		}
	default:
		reshard := false
		for i := range out.Records {
			e := &out.Records[i]
			r := b.recs[i]
			if e.ErrorCode == nil || *e.ErrorCode == "" {
				st.stats.KinesisRecordsDelivered++
				if e.ShardId != nil && r.shard.id != "" && *e.ShardId != r.shard.id && st.smap != nil {
					p.wrongShardLocked(r, *e.ShardId, &notes)
					continue
				}
				p.finishLocked(r)
				continue
			}
			outcome = "partial"
			code := *e.ErrorCode
			if written != nil {
				if written.Failed == 0 {
					written.Outcome, written.ErrorCode = BatchPartial, code
				}
				written.Failed++
			}
			reshard = reshard || reshardingCode(code)
			msg := code
			if e.ErrorMessage != nil {
				msg += ": " + *e.ErrorMessage
			}
			p.failLocked(r, classifyCode(code), code,
				fmt.Errorf("stream %q: PutRecords entry for shard %s: %s", p.stream, r.shard.id, msg),
				false, true, now, &notes)
		}
		if reshard {
			p.askRefresh() // once a request
		}
	}
	p.bodyBackLocked(b)
	p.poke()
	// The request's duration is recorded, and the hooks told of it, before
	// a Flush it completes returns.
	p.unlockReportAfter(notes, func() {
		p.meters.request(elapsed, outcome)
		if written != nil {
			for _, h := range p.hooks.written {
				h.OnBatchWritten(*written)
			}
		}
	})
}

func resultCount(out *kinesis.PutRecordsOutput) int {
	if out == nil {
		return 0
	}
	return len(out.Records)
}

// failLocked schedules a failed record's next attempt, or drops it: at once
// if the error is permanent, when counts (Kinesis answered the attempt) and
// its answered failures pass MaxRetries, or when its delivery budget
// (RecordTTL from its oldest user record's Put) leaves no room for another
// attempt. A record whose next backoff would end past its budget gets one
// last attempt MinBackoff before the budget ends. ambiguous says Kinesis may
// have stored it anyway (timeout, connection lost, server error): sending it
// again may then duplicate it, and is counted.
func (p *Producer) failLocked(r *record, cls errClass, code string, err error, ambiguous, counts bool, now time.Time, notes *[]*DropError) {
	st := &p.st
	if st.abandoned {
		p.dropLocked(r, DropShutdown, fmt.Errorf("%w (last attempt: %w)", st.abandonCause, err), notes)
		return
	}
	if r.shard.lim != nil {
		if cls == classThrottle {
			r.shard.lim.throttled(now)
		} else {
			r.shard.lim.refund(r.size)
		}
	}
	if cls == classThrottle {
		st.stats.Throttles++
	}
	if cls == classPermanent {
		p.dropLocked(r, DropPermanent, err, notes)
		return
	}
	if counts {
		r.failures++
	}
	if r.failures > p.cfg.MaxRetries {
		p.dropLocked(r, DropRetriesExhausted, err, notes)
		return
	}
	wait := retryWait(r.attempts, p.cfg.MinBackoff, p.cfg.MaxBackoff, p.rnd)
	if left := p.deadline(r).Sub(now); wait >= left {
		if left <= p.cfg.MinBackoff {
			p.dropLocked(r, DropExpired, fmt.Errorf("%w (last attempt: %w)", p.expiredCause(), err), notes)
			return
		}
		wait = left - p.cfg.MinBackoff
	}
	st.stats.Retries++
	st.retriesByCode[code]++
	if ambiguous {
		st.stats.PossibleDuplicates += int64(r.users)
	}
	r.due = now.Add(wait)
	heap.Push(&st.retries, r)
	st.queued += r.users
	p.expiresLocked(r.born)
}

// expiredCause is the error of records dropped as DropExpired.
func (p *Producer) expiredCause() error {
	return fmt.Errorf("not delivered within record_ttl (%v)", p.cfg.RecordTTL)
}

// deadline returns when r's delivery budget ends.
func (p *Producer) deadline(r *record) time.Time { return r.born.Add(p.cfg.RecordTTL) }

// expiresLocked notes that something born then is held, so that the sweep
// (expireLocked) runs no later than its budget's end.
func (p *Producer) expiresLocked(born time.Time) {
	if d := born.Add(p.cfg.RecordTTL); d.Before(p.st.sweepAt) || p.st.sweepAt.IsZero() {
		p.st.sweepAt = d
	}
}

// expireLocked drops, as DropExpired, every record held outside requests in
// flight whose delivery budget has ended by now: in the shard queues, waiting
// for a retry, and in the aggregates being filled (an aggregate expires with
// its oldest user record: its younger ones go with it). It then sets sweepAt
// to the next budget's end. The queues are ordered by arrival, not by age, so
// every record is looked at; the sweep runs only when a budget has ended.
func (p *Producer) expireLocked(now time.Time) {
	st := &p.st
	var next time.Time
	keep := func(born time.Time) bool {
		d := born.Add(p.cfg.RecordTTL)
		if !now.Before(d) {
			return false
		}
		if next.IsZero() || d.Before(next) {
			next = d
		}
		return true
	}
	cause := p.expiredCause()
	for _, s := range st.shards {
		for i := 0; i < len(s.bins); {
			if keep(s.bins[i].born) {
				i++
				continue
			}
			p.sealLocked(s, i) // queued, and dropped below
		}
		for _, q := range []*recQueue{&s.retry, &s.fresh} {
			for _, r := range q.removeIf(func(r *record) bool { return !keep(r.born) }) {
				st.readyCount--
				st.readyBytes -= r.size
				s.ready -= r.size
				st.queued -= r.users
				p.dropLocked(r, DropExpired, cause, &st.deferred)
			}
		}
	}
	kept := st.retries[:0]
	for _, r := range st.retries {
		if keep(r.born) {
			kept = append(kept, r)
			continue
		}
		st.queued -= r.users
		r.heapIdx = -1
		p.dropLocked(r, DropExpired, cause, &st.deferred)
	}
	clear(st.retries[len(kept):])
	st.retries = kept
	for i, r := range st.retries {
		r.heapIdx = i
	}
	heap.Init(&st.retries)
	st.sweepAt = next
}

// wrongShardLocked handles a record Kinesis stored on another shard than
// predicted: the map is stale. If that shard's range holds every user record
// inside, nothing is lost; otherwise the KCL would discard the aggregate, so
// its user records are sent again, re-aggregated, once the new map is known.
func (p *Producer) wrongShardLocked(r *record, landed string, notes *[]*DropError) {
	st := &p.st
	st.stats.WrongShard++
	p.askRefresh()
	if p.cfg.DisableAggregation || r.lo == r.hi || st.abandoned {
		p.finishLocked(r)
		return
	}
	if rng, ok := st.smap.byID[landed]; ok && rng.Contains(r.lo) && rng.Contains(r.hi) {
		p.finishLocked(r)
		return
	}
	r.landed = landed
	st.verify = append(st.verify, r)
}

// verifyLocked settles the records stored on an unexpected shard against the
// new map.
func (p *Producer) verifyLocked() {
	st := &p.st
	pending := st.verify
	st.verify = nil
	for _, r := range pending {
		if rng, ok := st.smap.byID[r.landed]; ok && rng.Contains(r.lo) && rng.Contains(r.hi) {
			p.finishLocked(r)
			continue
		}
		st.stats.WrongShardResends += int64(r.users)
		r.landed = ""
		p.routeLocked(r, true)
	}
}

// routeLocked queues a record on the open shard that holds all its user
// records, or splits it by shard if none does.
func (p *Producer) routeLocked(r *record, retry bool) {
	st := &p.st
	if st.smap == nil {
		r.shard = st.shards[0]
		p.enqueueLocked(r, retry)
		return
	}
	s := st.shards[st.smap.find(r.lo)]
	if p.cfg.DisableAggregation || s.rng.Contains(r.hi) {
		r.shard = s
		p.enqueueLocked(r, retry)
		return
	}
	p.splitLocked(r, retry)
}

// splitLocked takes the user records out of an aggregate whose range no
// longer falls in one shard and aggregates them again per shard. The new
// records inherit the attempts and epoch.
func (p *Producer) splitLocked(r *record, retry bool) {
	st := &p.st
	st.stats.Splits++
	type part struct {
		s *shard
		b *bin
	}
	var parts []part
	seal := func(pt *part) {
		nr := p.recordFromBin(pt.b, pt.s, r.epoch)
		nr.attempts, nr.failures, nr.born = r.attempts, r.failures, r.born
		p.enqueueLocked(nr, retry)
		pt.b = nil
	}
	var bad error
	i := 0 // the user record's position, for its weight
	err := walkAggregate(r.data, func(pk, ehk string, data []byte, tags []aggregation.Tag) {
		w := int32(1)
		if i < len(r.weights) {
			w = r.weights[i]
		}
		i++
		h := aggregation.HashPartitionKey(pk)
		if ehk != "" {
			var err error
			if h, err = aggregation.ParseHashKey(ehk); err != nil {
				bad = err
				return
			}
		}
		s := st.shards[st.smap.find(h)]
		var pt *part
		for i := range parts {
			if parts[i].s == s {
				pt = &parts[i]
			}
		}
		if pt == nil {
			parts = append(parts, part{s: s})
			pt = &parts[len(parts)-1]
		}
		if pt.b != nil && pt.b.agg.SizeWith(pk, ehk, len(data), tags)+pt.b.pkLen > p.aggMax {
			seal(pt)
		}
		if pt.b == nil {
			pt.b = p.getBinLocked()
			pt.b.born = r.born
		}
		p.addToBinLocked(pt.b, h, pk, ehk, data, tags, userSize(pk, ehk, len(data), tags), w)
	})
	if err == nil {
		err = bad
	}
	if err != nil {
		// The producer wrote these bytes; this cannot happen. Account for
		// the records anyway rather than lose them silently.
		for i := range parts {
			if parts[i].b != nil {
				p.dropBinLocked(parts[i].b)
			}
		}
		p.dropLocked(r, DropPermanent, fmt.Errorf("stream %q: re-aggregating for new shards: %w", p.stream, err), &st.deferred)
		return
	}
	for i := range parts {
		if parts[i].b != nil {
			seal(&parts[i])
		}
	}
	p.freeRecordLocked(r)
}

// ---- ending records ----

// finishLocked ends a delivered record.
func (p *Producer) finishLocked(r *record) {
	p.st.stats.UserRecordsDelivered += int64(r.users)
	p.st.stats.UserBytesDelivered += r.userBytes
	p.st.stats.ItemsDelivered += r.items
	p.endLocked(r, nil)
	p.freeRecordLocked(r)
}

// dropLocked ends a record given up on and notes the drop for report.
func (p *Producer) dropLocked(r *record, reason DropReason, err error, notes *[]*DropError) {
	st := &p.st
	d := &DropError{Stream: p.stream, Reason: reason, Records: r.users, Bytes: r.userBytes, Items: r.items, Attempts: r.attempts, Err: err}
	st.stats.UserRecordsDropped += int64(r.users)
	st.stats.UserBytesDropped += r.userBytes
	c := st.dropsByReason[reason]
	c[0] += int64(r.users)
	c[1] += r.userBytes
	st.dropsByReason[reason] = c
	if reason == DropShutdown {
		st.shutdownDropped += r.users
		st.shutdownDroppedBytes += r.userBytes
	}
	*notes = mergeDrops(*notes, d)
	p.endLocked(r, d)
	p.freeRecordLocked(r)
}

// endLocked releases a record's backlog room and settles its epoch.
func (p *Producer) endLocked(r *record, drop *DropError) {
	st := &p.st
	st.heldCount -= r.users
	st.heldBytes -= r.userBytes
	st.roomFreedLocked()
	ep := st.epochOf(r.epoch)
	ep.pending -= r.users
	if drop != nil {
		ep.drops = mergeDrops(ep.drops, drop)
	}
	if ep.pending == 0 && ep != st.current() {
		st.retireLocked()
	}
}

// dropHeldLocked drops every record held and not in flight, for a Shutdown
// whose context ended.
func (p *Producer) dropHeldLocked(cause error) []*DropError {
	st := &p.st
	var notes []*DropError
	p.sealAllLocked()
	for _, s := range st.shards {
		for _, q := range []*recQueue{&s.retry, &s.fresh} {
			for q.len() > 0 {
				r := p.popLocked(q)
				p.dropLocked(r, DropShutdown, cause, &notes)
			}
		}
	}
	for st.retries.Len() > 0 {
		p.dropLocked(p.popRetryLocked(), DropShutdown, cause, &notes)
	}
	// Records waiting for verification are stored on the stream: they count
	// as delivered, though a KCL reader may discard them.
	for _, r := range st.verify {
		p.finishLocked(r)
	}
	st.verify = nil
	return notes
}

// report hands drops to the HookDropped hooks and otel.Handle; never called
// with the lock held, so either may call back into the producer.
func (p *Producer) report(notes []*DropError) {
	for _, d := range notes {
		p.meters.dropped(d)
		for _, h := range p.hooks.dropped {
			h.OnDropped(d)
		}
		handle(d)
	}
}

// reportMaps hands shard map changes to the HookShardMapChanged hooks; never
// called with the lock held.
func (p *Producer) reportMaps(changes []ShardMapChange) {
	for _, c := range changes {
		for _, h := range p.hooks.shardMap {
			h.OnShardMapChanged(c)
		}
	}
}

// ---- shard map ----

// applyMapLocked switches to a new shard map: shards that stay keep their
// aggregates, queues and rate limiters; the records of shards that went are
// routed again, split where their user records now span shards.
func (p *Producer) applyMapLocked(m *shardMap, now time.Time) {
	st := &p.st
	st.stats.ShardMapRefreshes++
	if st.smap != nil && st.smap.sameShards(m) {
		st.smap = m
		p.verifyLocked()
		return
	}
	old := st.shards
	if len(p.hooks.shardMap) > 0 {
		c := ShardMapChange{NewShards: len(m.open)}
		if st.smap != nil {
			c.OldShards = len(st.smap.open)
		}
		st.mapChanges = append(st.mapChanges, c)
	}
	shards := make([]*shard, len(m.open))
	byID := make(map[string]*shard, len(m.open))
	for i, info := range m.open {
		s, ok := st.byID[info.id]
		if !ok || s.rng != info.rng {
			s = &shard{id: info.id, rng: info.rng}
			if !p.noRateLimit {
				s.lim = newShardLimiter(p.cfg.RateLimit, now)
			}
		}
		shards[i] = s
		byID[info.id] = s
	}
	st.smap, st.shards, st.byID = m, shards, byID
	st.rr = 0
	for _, s := range old {
		if byID[s.id] == s {
			continue
		}
		for len(s.bins) > 0 {
			last := len(s.bins) - 1
			b := s.bins[last]
			s.bins[last] = nil
			s.bins = s.bins[:last]
			p.routeLocked(p.recordFromBin(b, s, st.current().epoch), false)
		}
		for _, q := range []*recQueue{&s.retry, &s.fresh} {
			for q.len() > 0 {
				r := p.popLocked(q)
				p.routeLocked(r, q == &s.retry)
			}
		}
	}
	p.verifyLocked()
}

// refreshLoop reads the shard map again every ShardMapRefresh, with backoff
// after a failure, and when asked (askRefresh: a record landed on an unexpected
// shard, or an error said the stream is being resharded). failing says the
// first read, in New, failed (and was reported); readNow that New made none
// (SkipStartupCheck), so the first read happens at once.
//
// Asks are paced, since every failed request of a reshard may ask: an ask is
// served at once, unless the previous read was less than pace ago, and then when
// pace has passed. pace is 0 until an asked read finds the same shards, and then
// refreshDelay of the asked reads in a row that found them unchanged, so that
// asks arriving all along a long reshard read the map min_backoff apart, then
// three times that, nine times, ... up to max_backoff and shard_map_refresh. A
// read that finds new shards, and an ask after a quiet spell (no ask for twice
// pace after a read), start the pacing over. While reads fail, asks wait for the
// failure backoff.
//
// Failures are reported per episode, not per read: once when a second read in a
// row fails (a single failure that the next read repairs is not worth a word),
// or at the first failure while the producer has no map at all; then once more
// when a read succeeds again, saying how long the episode lasted.
func (p *Producer) refreshLoop(failing, readNow bool) {
	defer p.wg.Done()
	failures := 0 // failed reads in a row
	var since time.Time
	reported := false // this episode of failures was reported
	if failing {
		failures, since, reported = 1, time.Now(), true
	}
	unchanged := 0         // asked reads in a row that found the same shards
	last := time.Now()     // when the last read ended (New's, first)
	var pace time.Duration // how long after last an ask waits
	waiting := false       // an ask waits for t
	first := p.refreshDelay(failures)
	if readNow {
		first = 0
	}
	t := time.NewTimer(first)
	defer t.Stop()
	for {
		asked := false
		select {
		case <-p.stop:
			return
		case <-p.refresh:
			if failures > 0 || waiting {
				continue // the failure backoff, or the ask waiting, reads next
			}
			ago := time.Since(last)
			if ago < pace {
				waiting = true
				t.Stop()
				t.Reset(pace - ago) // never later than the periodic read: pace <= shard_map_refresh
				continue
			}
			if ago >= 2*pace {
				unchanged = 0 // a quiet spell: pacing starts over
			}
			asked = true
		case <-t.C:
			asked = waiting
		}
		waiting = false
		m, err := listShards(p.reqCtx, p.client, &p.cfg, noRetry)
		now := time.Now()
		last = now
		var notify error
		p.mu.Lock()
		if err != nil {
			failures++
			if failures == 1 {
				since = now
			}
			if !reported && (failures >= 2 || p.st.smap == nil) && p.reqCtx.Err() == nil {
				reported = true
				notify = fmt.Errorf("%w (%s since %s; keeping the previous shard map and retrying with backoff)",
					err, plural.Count(failures, "failed read"), since.Format(time.RFC3339))
				if p.st.smap == nil {
					notify = p.fallbackErrLocked(err)
				}
			}
		} else {
			if reported {
				notify = fmt.Errorf("stream %q: ListShards answers again, after %s over %v; shard map read",
					p.stream, plural.Count(failures, "failed read"), now.Sub(since).Round(time.Millisecond))
			}
			failures, reported = 0, false
			if asked && p.st.smap != nil && p.st.smap.sameShards(m) {
				unchanged++
			} else {
				unchanged = 0
			}
			p.applyMapLocked(m, now)
		}
		p.unlockReport(nil)
		if notify != nil {
			handle(notify)
		}
		p.poke()
		pace = 0
		if unchanged > 0 {
			pace = p.refreshDelay(unchanged)
		}
		t.Stop()
		t.Reset(p.refreshDelay(failures))
	}
}

// refreshDelay returns the wait before the next map read after failures
// failed reads in a row; refreshLoop paces asks with it too, counting the
// asked reads in a row that found the shards unchanged.
func (p *Producer) refreshDelay(failures int) time.Duration {
	if failures == 0 {
		return p.cfg.ShardMapRefresh
	}
	ceiling := min(p.cfg.MaxBackoff, p.cfg.ShardMapRefresh)
	return max(retryWait(failures, p.cfg.MinBackoff, ceiling, p.rnd), p.cfg.MinBackoff)
}

// noteFallback reports, once, that the producer runs without a shard map.
// Called from New only.
func (p *Producer) noteFallback(err error) {
	handle(p.fallbackErrLocked(err))
}

// fallbackErrLocked returns the message of the fallback mode, or nil if it
// was given before.
func (p *Producer) fallbackErrLocked(err error) error {
	if p.st.fallbackNoted {
		return nil
	}
	p.st.fallbackNoted = true
	return fmt.Errorf("%w: without a shard map, aggregating only user records of the same hash key (safe for any shard layout) until ListShards succeeds", err)
}

// ---- recycling ----

func (p *Producer) newRecordLocked() *record {
	if n := len(p.st.freeRecs); n > 0 {
		r := p.st.freeRecs[n-1]
		p.st.freeRecs = p.st.freeRecs[:n-1]
		return r
	}
	return &record{heapIdx: -1}
}

// freeRecordLocked recycles a record that ended or was split, and releases
// its charge.
func (p *Producer) freeRecordLocked(r *record) {
	p.st.mem -= r.mem
	p.recBackLocked(r.data)
	*r = record{heapIdx: -1, weights: r.weights[:0]} // keep the weights' room
	if len(p.st.freeRecs) < 8192 {
		p.st.freeRecs = append(p.st.freeRecs, r)
	}
}

// isNotFound tells New that the stream does not exist.
func isNotFound(err error) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode() == "ResourceNotFoundException"
}
