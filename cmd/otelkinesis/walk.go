package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/otelkinesis/otelkinesis/internal/backoff"
)

// kinesisAPI is what reading a stream needs of a Kinesis client.
type kinesisAPI interface {
	ListShards(context.Context, *kinesis.ListShardsInput, ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error)
	GetShardIterator(context.Context, *kinesis.GetShardIteratorInput, ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error)
	GetRecords(context.Context, *kinesis.GetRecordsInput, ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error)
}

// resumePoint is what a checkpoint says of a shard.
type resumePoint struct {
	// after is the sequence number of the last record handled; reading resumes after it.
	after string
	// done says the shard was closed and read to its end.
	done bool
}

// batch is one GetRecords answer handed to a walker's handler.
type batch struct {
	shard   string
	records []types.Record
	// behind is how far the shard's reader is from the tip (MillisBehindLatest).
	behind time.Duration
}

// walker reads every shard of a stream, parents before children, one goroutine per
// shard, and hands each GetRecords batch to handle, in order within a shard.
//
// Where a shard starts: after its checkpoint when it has one; at the start of the shard
// when it was found after the walk began (a reshard's child) or a parent of it was read
// in an earlier run; else at --from. With --from latest, shards already closed when
// the walk begins are skipped.
type walker struct {
	api         kinesisAPI
	stream      streamRef
	from        startPosition
	follow      bool
	until       time.Time // when not zero, records that arrived later end a shard's walk
	callTimeout time.Duration
	poll        time.Duration
	limit       int32
	resume      map[string]resumePoint

	// handle is called for every batch with records, sequentially per shard.
	handle func(ctx context.Context, b batch) error
	// finished, if set, is called when a shard has been read to its end (closed).
	finished func(shard string) error
	// caughtUp, if set, is told how far behind a shard is after each read.
	caughtUp func(shard string, behind time.Duration)
	// warn reports problems the walk survives.
	warn func(format string, args ...any)
	// sleep waits; tests may replace it.
	sleep func(ctx context.Context, d time.Duration) error
}

type shardNode struct {
	shard   types.Shard
	parents []string
	start   types.ShardIteratorType // "" means skip
	at      time.Time
	after   string
	state   int // 0 waiting, 1 running, 2 finished (closed, read to its end), 3 stopped (caught up, not following)
}

const (
	waiting = iota
	running
	finished
	stopped
)

type shardResult struct {
	id     string
	closed bool
	err    error
}

// run walks the stream until every shard is finished (or stopped, when not following),
// an error occurs, or ctx ends (then it returns nil).
func (w *walker) run(ctx context.Context) error {
	if w.sleep == nil {
		w.sleep = backoff.Sleep
	}
	if w.warn == nil {
		w.warn = func(string, ...any) {}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	shards, err := w.listShards(ctx)
	if err != nil {
		return err
	}
	nodes := map[string]*shardNode{}
	for _, s := range shards {
		nodes[aws.ToString(s.ShardId)] = w.initialNode(s, nodes, shards)
	}

	results := make(chan shardResult)
	var wg sync.WaitGroup
	defer wg.Wait()
	active := 0
	var firstErr error
	launch := func() {
		ids := make([]string, 0, len(nodes))
		for id := range nodes {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			n := nodes[id]
			if n.state != waiting || !w.parentsDone(n, nodes) {
				continue
			}
			if n.start == "" {
				n.state = finished
				continue
			}
			n.state = running
			active++
			wg.Add(1)
			go func(n *shardNode) {
				defer wg.Done()
				closed, err := w.readShard(ctx, n)
				results <- shardResult{id: aws.ToString(n.shard.ShardId), closed: closed, err: err}
			}(n)
		}
	}
	// Skipped shards finish at once, which may free their children: loop until stable.
	for {
		before := countState(nodes, finished)
		launch()
		if countState(nodes, finished) == before {
			break
		}
	}
	for active > 0 {
		r := <-results
		active--
		n := nodes[r.id]
		switch {
		case r.err != nil:
			n.state = stopped
			if firstErr == nil && ctx.Err() == nil {
				firstErr = r.err
			}
			cancel()
			continue
		case !r.closed:
			n.state = stopped
			continue
		}
		n.state = finished
		if w.finished != nil {
			if err := w.finished(r.id); err != nil && firstErr == nil {
				firstErr = err
				cancel()
				continue
			}
		}
		if ctx.Err() != nil {
			continue
		}
		// A closed shard's children are listed by now: find them and start those
		// whose parents are all done.
		more, err := w.listShards(ctx)
		if err != nil {
			if firstErr == nil && ctx.Err() == nil {
				firstErr = err
			}
			cancel()
			continue
		}
		for _, s := range more {
			id := aws.ToString(s.ShardId)
			if _, ok := nodes[id]; !ok {
				nodes[id] = &shardNode{shard: s, parents: parentIDs(s), start: types.ShardIteratorTypeTrimHorizon}
			}
		}
		for {
			before := countState(nodes, finished)
			launch()
			if countState(nodes, finished) == before {
				break
			}
		}
	}
	return firstErr
}

func countState(nodes map[string]*shardNode, state int) int {
	n := 0
	for _, x := range nodes {
		if x.state == state {
			n++
		}
	}
	return n
}

func parentIDs(s types.Shard) []string {
	var ps []string
	for _, p := range []*string{s.ParentShardId, s.AdjacentParentShardId} {
		if aws.ToString(p) != "" {
			ps = append(ps, *p)
		}
	}
	return ps
}

// parentsDone reports whether every parent of n that the walk knows has been read to
// its end. Parents no longer listed (past the retention period) do not hold it back.
func (w *walker) parentsDone(n *shardNode, nodes map[string]*shardNode) bool {
	for _, p := range n.parents {
		if pn, ok := nodes[p]; ok && pn.state != finished {
			return false
		}
	}
	return true
}

// initialNode decides where a shard listed at the start of the walk starts.
func (w *walker) initialNode(s types.Shard, nodes map[string]*shardNode, all []types.Shard) *shardNode {
	id := aws.ToString(s.ShardId)
	n := &shardNode{shard: s, parents: parentIDs(s)}
	if rp, ok := w.resume[id]; ok {
		if !rp.done {
			n.start, n.after = types.ShardIteratorTypeAfterSequenceNumber, rp.after
		}
		return n
	}
	for _, p := range n.parents {
		if _, ok := w.resume[p]; ok {
			// An earlier run read the parent: this shard continues it from its start.
			n.start = types.ShardIteratorTypeTrimHorizon
			return n
		}
	}
	closed := isClosed(s)
	switch w.from.kind {
	case types.ShardIteratorTypeLatest:
		if !closed {
			n.start = types.ShardIteratorTypeLatest
		}
	default:
		n.start, n.at = w.from.kind, w.from.at
	}
	return n
}

// listShards returns every shard of the stream, following NextToken.
func (w *walker) listShards(ctx context.Context) ([]types.Shard, error) {
	var shards []types.Shard
	in := &kinesis.ListShardsInput{}
	w.setStream(&in.StreamName, &in.StreamARN)
	for {
		var out *kinesis.ListShardsOutput
		err := w.call(ctx, "ListShards", func(cctx context.Context) error {
			var err error
			out, err = w.api.ListShards(cctx, in)
			return err
		})
		if err != nil {
			return nil, err
		}
		shards = append(shards, out.Shards...)
		if aws.ToString(out.NextToken) == "" {
			return shards, nil
		}
		in = &kinesis.ListShardsInput{NextToken: out.NextToken}
	}
}

func (w *walker) setStream(name, arn **string) {
	if w.stream.name != "" {
		*name = aws.String(w.stream.name)
	}
	if w.stream.arn != "" {
		*arn = aws.String(w.stream.arn)
	}
}

// call runs one Kinesis call under its own deadline, retrying what is worth retrying
// (timeouts, throttling, server errors) a few times with backoff. A failure to connect
// is tried connectAttempts times only, a second or so in all, and reported as what it
// is: the endpoint and the network's reason (connection refused, no such host).
func (w *walker) call(ctx context.Context, op string, fn func(context.Context) error) error {
	const attempts, connectAttempts = 5, 3
	var err error
	for i := 1; ; i++ {
		cctx, cancel := context.WithTimeout(ctx, w.callTimeout)
		err = fn(cctx)
		timedOut := cctx.Err() == context.DeadlineExceeded
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		tries := attempts
		ce, connect := connectFailure(err)
		switch {
		case connect:
			err, timedOut, tries = ce, false, connectAttempts
		case timedOut:
			err = fmt.Errorf("no answer within --call-timeout %v: %w", w.callTimeout, err)
		}
		if i >= tries || !(timedOut || connect || retryableAWS(err)) {
			if connect {
				return fmt.Errorf("stream %s: %s: %w (%d attempts)", w.stream, op, err, i)
			}
			return fmt.Errorf("stream %s: %s: %w", w.stream, op, err)
		}
		wait := backoff.Ceiling(i, 200*time.Millisecond, 5*time.Second, 2)
		w.warn("%s failed (attempt %d of %d), retrying in %v: %v", op, i, tries, wait, err)
		if serr := w.sleep(ctx, wait); serr != nil {
			return serr
		}
	}
}

// retryableAWS reports errors worth a second try: throttling, limits and server faults.
func retryableAWS(err error) bool {
	var pte *types.ProvisionedThroughputExceededException
	var lee *types.LimitExceededException
	var kmsThrottle *types.KMSThrottlingException
	if errors.As(err, &pte) || errors.As(err, &lee) || errors.As(err, &kmsThrottle) {
		return true
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) && re.HTTPStatusCode() >= 500 {
		return true
	}
	return false
}

// iterator gets a shard iterator.
func (w *walker) iterator(ctx context.Context, id string, kind types.ShardIteratorType, at time.Time, seq string) (*string, error) {
	in := &kinesis.GetShardIteratorInput{ShardId: aws.String(id), ShardIteratorType: kind}
	w.setStream(&in.StreamName, &in.StreamARN)
	switch kind {
	case types.ShardIteratorTypeAtTimestamp:
		in.Timestamp = aws.Time(at)
	case types.ShardIteratorTypeAfterSequenceNumber, types.ShardIteratorTypeAtSequenceNumber:
		in.StartingSequenceNumber = aws.String(seq)
	}
	var out *kinesis.GetShardIteratorOutput
	err := w.call(ctx, fmt.Sprintf("GetShardIterator %s %s", id, kind), func(cctx context.Context) error {
		var err error
		out, err = w.api.GetShardIterator(cctx, in)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out.ShardIterator, nil
}

// readShard reads one shard from its start position. It returns closed=true when the
// shard is closed and was read to its end; false when it stopped otherwise (caught up
// without --follow, past --until, or ctx ended).
func (w *walker) readShard(ctx context.Context, n *shardNode) (closed bool, err error) {
	id := aws.ToString(n.shard.ShardId)
	iter, err := w.iterator(ctx, id, n.start, n.at, n.after)
	if err != nil {
		return false, err
	}
	last := n.after
	minGap := 200 * time.Millisecond // Kinesis allows 5 GetRecords a second per shard
	for iter != nil {
		var out *kinesis.GetRecordsOutput
		err := w.call(ctx, "GetRecords "+id, func(cctx context.Context) error {
			var err error
			out, err = w.api.GetRecords(cctx, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(w.limit)})
			return err
		})
		var expired *types.ExpiredIteratorException
		if errors.As(err, &expired) {
			// Iterators live five minutes: a slow handler can outlive one.
			kind, seq := n.start, last
			if last != "" {
				kind = types.ShardIteratorTypeAfterSequenceNumber
			}
			if iter, err = w.iterator(ctx, id, kind, n.at, seq); err != nil {
				return false, err
			}
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return false, nil
			}
			return false, err
		}
		recs := out.Records
		pastUntil := false
		if !w.until.IsZero() {
			for i, r := range recs {
				if r.ApproximateArrivalTimestamp != nil && r.ApproximateArrivalTimestamp.After(w.until) {
					recs, pastUntil = recs[:i], true
					break
				}
			}
		}
		behind := time.Duration(aws.ToInt64(out.MillisBehindLatest)) * time.Millisecond
		if len(recs) > 0 {
			if err := w.handle(ctx, batch{shard: id, records: recs, behind: behind}); err != nil {
				if ctx.Err() != nil {
					return false, nil
				}
				return false, err
			}
			last = aws.ToString(recs[len(recs)-1].SequenceNumber)
		}
		if w.caughtUp != nil {
			w.caughtUp(id, behind)
		}
		if pastUntil {
			return false, nil
		}
		iter = out.NextShardIterator
		if iter == nil || len(out.ChildShards) > 0 {
			return true, nil
		}
		if len(out.Records) == 0 && behind == 0 && isClosed(n.shard) {
			// A closed shard with nothing more to read is done, even where an emulator
			// still hands out a next iterator.
			return true, nil
		}
		wait := minGap
		if len(out.Records) == 0 && behind == 0 {
			if !w.follow {
				return false, nil
			}
			wait = w.poll
		}
		if err := w.sleep(ctx, wait); err != nil {
			return false, nil
		}
	}
	return true, nil
}

// isClosed reports whether ListShards says the shard is closed (it has an ending
// sequence number).
func isClosed(s types.Shard) bool {
	return s.SequenceNumberRange != nil && s.SequenceNumberRange.EndingSequenceNumber != nil
}
