package kpl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/smithy-go"

	"github.com/otelkinesis/otelkinesis/internal/backoff"
	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
	"github.com/otelkinesis/otelkinesis/internal/plural"
	"github.com/otelkinesis/otelkinesis/internal/putrecords"
)

// Client is the part of the Kinesis API the producer calls; *kinesis.Client
// implements it. The producer owns retries: it passes an option to every
// call that replaces the client's retryer with aws.NopRetryer, so the SDK's
// retries and retry quota never fight its own. Build the client with
// retries off all the same (RetryMaxAttempts 1), so the calls of other code
// sharing it behave alike.
type Client interface {
	PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error)
	ListShards(ctx context.Context, in *kinesis.ListShardsInput, optFns ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error)
	DescribeStreamSummary(ctx context.Context, in *kinesis.DescribeStreamSummaryInput, optFns ...func(*kinesis.Options)) (*kinesis.DescribeStreamSummaryOutput, error)
}

// Errors returned by Put and wrapped by the errors the producer reports.
var (
	// ErrShutdown is wrapped by Put's error after Shutdown began, and by the
	// DropError of records a Shutdown whose context ended gave up on. It is
	// the module's one shutdown error: the exporters wrap it too, and
	// otelkinesis.ErrShutdown is this value.
	ErrShutdown = errors.New("shut down")
	// ErrRecordTooLarge is wrapped by Put's error for a user record that
	// cannot fit in one Kinesis record; the error names its size and the
	// limit. MaxDataSize says how much data fits.
	ErrRecordTooLarge = errors.New("user record too large")
	// ErrInvalidRecord is wrapped by Put's error for a partition key or
	// explicit hash key Kinesis would refuse.
	ErrInvalidRecord = errors.New("invalid user record")
	// ErrRetriesExhausted is wrapped by the DropError of records whose
	// attempts Kinesis answered with a retryable error MaxRetries+1 times.
	ErrRetriesExhausted = errors.New("retries exhausted")
	// ErrExpired is wrapped by the DropError of records not delivered within
	// their delivery budget (RecordTTL).
	ErrExpired = errors.New("delivery budget spent")
	// ErrPermanent is wrapped by the DropError of records refused with an
	// error sending again cannot fix (stream missing, access denied, ...).
	ErrPermanent = errors.New("permanent error")
)

// errPutShutdown is Put's error after Shutdown began.
var errPutShutdown = fmt.Errorf("producer is %w", ErrShutdown)

// DropReason is why the producer gave up on user records, as used in the
// producer's metrics.
type DropReason string

// The reasons records are dropped.
const (
	// DropRetriesExhausted: MaxRetries+1 attempts were answered with a
	// retryable error.
	DropRetriesExhausted DropReason = "retries_exhausted"
	// DropExpired: the records were not delivered within RecordTTL of their
	// Put, the delivery budget (Kinesis unreachable, or failing, that long).
	DropExpired DropReason = "expired"
	// DropPermanent: Kinesis refused the records with a permanent error.
	DropPermanent DropReason = "permanent_error"
	// DropShutdown: Shutdown's context ended before the records were
	// delivered.
	DropShutdown DropReason = "shutdown"
)

// DropError describes user records the producer gave up on. It wraps the
// last error seen and ErrRetriesExhausted, ErrPermanent or ErrShutdown by
// Reason.
type DropError struct {
	// Stream is the stream name or ARN.
	Stream string
	// Reason is why the records were dropped.
	Reason DropReason
	// Records and Bytes count the user records dropped and their size
	// (data, keys and tags).
	Records int
	Bytes   int64
	// Items is the sum of the item counts the dropped user records were put
	// with (PutItems): the spans, data points or log records they held. A
	// user record put with Put counts as one item.
	Items int64
	// Attempts is how many times the records were sent.
	Attempts int
	// Err is the last error, if any.
	Err error
}

// Error says how many user records of which stream were dropped and why.
func (e *DropError) Error() string {
	msg := fmt.Sprintf("stream %q: dropped %s (%s, %s) after %s: %s",
		e.Stream, plural.Count(e.Records, "user record"), plural.Count(e.Bytes, "byte"),
		plural.Count(e.Items, "telemetry item"), plural.Count(e.Attempts, "attempt"), e.Reason)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the last error and the sentinel of the reason.
func (e *DropError) Unwrap() []error {
	var s error
	switch e.Reason {
	case DropRetriesExhausted:
		s = ErrRetriesExhausted
	case DropExpired:
		s = ErrExpired
	case DropPermanent:
		s = ErrPermanent
	case DropShutdown:
		s = ErrShutdown
	}
	return []error{s, e.Err}
}

// Producer sends user records to one Kinesis stream: it aggregates them per
// predicted shard, batches the aggregates into PutRecords requests, limits
// the rate per shard, retries what failed and accounts for every record. See
// the package documentation. A Producer is safe for concurrent use and may be
// shared by several exporters writing the same stream; whoever created it
// shuts it down.
type Producer struct {
	cfg         Config
	client      Client
	stream      string // stream name or ARN, for messages
	recordMax   int    // largest Kinesis record: data plus partition key
	aggMax      int    // largest aggregate: min(AggregateBatchSize, recordMax)
	meters      *meters
	rnd         func(n int64) int64 // backoff randomness in [0, n]; tests replace it
	maxBins     int                 // aggregates filled at once per shard (maxBins; benchmarks vary it)
	frame       int                 // body size of a request without records
	perReq      int64               // bound of what a request is charged beyond its records (requestCharge)
	sealMax     int64               // bound of what closing an aggregate to make room adds (sealCharge)
	recCap      int                 // capacity of the record buffers kept for reuse: an aggregate's
	recKeep     int                 // how many of them are kept at most: a request's worth
	busyGrace   time.Duration       // shardBusyGrace; tests shorten it
	noRateLimit bool                // no per-shard rate limit (tests and benchmarks)
	hooks       hooks               // Config.Hooks, by interface

	stop    chan struct{} // closed to stop the goroutines
	wake    chan struct{} // pokes the dispatcher; capacity 1
	refresh chan struct{} // asks for a shard map refresh; capacity 1
	reqCtx  context.Context
	cancel  context.CancelFunc // cancels requests in flight (shutdown)
	wg      sync.WaitGroup

	shutdownDone chan struct{}

	mu      sync.Mutex
	st      state
	scratch [aggregation.MaxHashKeyDigits]byte
}

// noRetry turns the SDK's own retries off for a call: the producer owns retries (within
// the delivery budget, record by record), and the SDK's retry quota would otherwise fail
// calls fast under sustained throttling.
func noRetry(o *kinesis.Options) { o.Retryer = aws.NopRetryer{}; o.RetryMaxAttempts = 0 }

// putOptions are the options of every PutRecords call: noRetry, and internal/putrecords
// writing the body into the buffer the producer charges for it (reqbuf) and reading the
// response, also on a client the caller built (a client built with them keeps its own).
func putOptions(o *kinesis.Options) {
	noRetry(o)
	putrecords.WithPutRecords(o)
}

// New validates cfg, checks the stream once and starts the producer.
//
// The check reads the stream's record size limit (DescribeStreamSummary), which proves
// the endpoint answers, the credentials sign and the stream exists, then its shard map
// (ListShards). If the description fails, New fails with a *StartupError naming the
// stream, the endpoint, the region and the cause (connection refused, no credentials,
// stream not found, ...); throttling and server errors are tried again a few times
// first. A ListShards failure after a good description is reported once through
// otel.Handle and the producer starts without a map (it aggregates only user records
// of the same hash key, which is safe for every shard layout, and keeps reading the
// map). ctx bounds the check only.
//
// With cfg.SkipStartupCheck, New makes no call: the shard map is read in the
// background, its first failure reported once, and records are held (within the byte
// budget and RecordTTL) and delivered once the stream answers; the record size limit is
// then MaxRecordSize, or 1 MiB.
func New(ctx context.Context, client Client, cfg Config) (*Producer, error) {
	return newWithKnobs(ctx, client, cfg, testKnobs{})
}

// testKnobs are the settings only this package's tests and benchmarks change;
// the zero value, which New passes, is production's behaviour.
type testKnobs struct {
	bins        int                 // aggregates filled at once per shard; 0: maxBins
	noRateLimit bool                // no per-shard rate limit
	rnd         func(n int64) int64 // backoff randomness in [0, n]; nil: random
	busyGrace   time.Duration       // 0: shardBusyGrace
}

// newWithKnobs is New with the test knobs k.
func newWithKnobs(ctx context.Context, client Client, cfg Config, k testKnobs) (*Producer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if client == nil {
		return nil, fmt.Errorf("stream %q: nil Kinesis client", cfg.stream())
	}
	p := &Producer{
		cfg:          cfg,
		client:       client,
		stream:       cfg.stream(),
		stop:         make(chan struct{}),
		wake:         make(chan struct{}, 1),
		refresh:      make(chan struct{}, 1),
		shutdownDone: make(chan struct{}),
		maxBins:      maxBins,
		rnd:          k.rnd,
		busyGrace:    shardBusyGrace,
		noRateLimit:  k.noRateLimit,
		hooks:        newHooks(cfg.Hooks),
	}
	if k.busyGrace > 0 {
		p.busyGrace = k.busyGrace
	}
	if k.bins > 0 {
		p.maxBins = k.bins
	}
	p.reqCtx, p.cancel = context.WithCancel(context.Background())

	p.recordMax = cfg.MaxRecordSize
	if p.recordMax == 0 && cfg.SkipStartupCheck {
		p.recordMax = DefaultRecordBytes
	}
	if p.recordMax == 0 || !cfg.SkipStartupCheck {
		limit, err := p.startupCheck(ctx)
		if err != nil {
			p.cancel()
			return nil, err
		}
		if p.recordMax == 0 {
			p.recordMax = limit
		}
	}
	p.aggMax = min(cfg.AggregateBatchSize, p.recordMax)
	p.frame = requestFrame(&p.cfg)
	p.perReq = requestCharge(p.frame)
	if !p.cfg.DisableAggregation {
		p.sealMax = sealCharge(p.aggMax)
	}
	p.recCap = allocCap(p.aggMax)
	p.recKeep = max(p.cfg.BatchSize/p.recCap, 1)

	now := time.Now()
	p.st.init(cfg, now)
	readNow := cfg.SkipStartupCheck // the first map read happens in the background
	if !cfg.SkipStartupCheck {
		m, err := listShards(ctx, client, &p.cfg, noRetry)
		switch {
		case err == nil:
			p.applyMapLocked(m, now) // nobody else sees p yet
		case isNotFound(err) || ctx.Err() != nil:
			p.cancel()
			return nil, err
		default:
			p.noteFallback(err)
		}
	}

	meters, err := newMeters(p)
	if err != nil {
		p.cancel()
		return nil, err
	}
	p.meters = meters

	// The startup check's map, applied before anyone saw p.
	changes := p.st.mapChanges
	p.st.mapChanges = nil
	p.reportMaps(changes)

	p.wg.Add(2)
	go p.dispatchLoop()
	go p.refreshLoop(p.st.smap == nil && !readNow, readNow)
	return p, nil
}

// startupAttempts is how many times the startup check describes the stream when the
// answer is throttling or a server error.
const startupAttempts = 3

// startupCheck describes the stream, trying again after throttling and server errors,
// and returns its record size limit, or a *StartupError.
func (p *Producer) startupCheck(ctx context.Context) (int, error) {
	var err error
	for attempt := 1; ; attempt++ {
		var limit int
		limit, err = p.describe(ctx)
		if err == nil {
			return limit, nil
		}
		cls, _ := classifyError(err)
		if cls == classPermanent || !answered(err) || attempt == startupAttempts || ctx.Err() != nil {
			break
		}
		if backoff.Sleep(ctx, retryWait(attempt, p.cfg.MinBackoff, p.cfg.MaxBackoff, p.rnd)) != nil {
			break
		}
	}
	endpoint, region := clientTarget(p.client)
	return 0, &StartupError{Stream: p.stream, Endpoint: endpoint, Region: region, Cause: describeCause(err, p.cfg.RequestTimeout), Err: err}
}

// StartupError is New's error when the startup check cannot describe the stream.
type StartupError struct {
	// Stream is the stream name or ARN.
	Stream string
	// Endpoint is the endpoint the client calls ("" when the SDK resolves AWS's own for
	// the region, or the client is not a *kinesis.Client).
	Endpoint string
	// Region is the client's region ("" when unknown).
	Region string
	// Cause says in a few words why: "connection refused", "no AWS credentials: ...",
	// "ResourceNotFoundException: ...".
	Cause string
	// Err is the SDK's error.
	Err error
}

// Error names the stream, the endpoint, the region and the cause.
func (e *StartupError) Error() string {
	where := "the AWS endpoint"
	if e.Endpoint != "" {
		where = e.Endpoint
	}
	if e.Region != "" {
		where += " (region " + e.Region + ")"
	}
	return fmt.Sprintf("stream %q at %s: startup check failed: %s (WithoutStartupCheck starts without this check)", e.Stream, where, e.Cause)
}

// Unwrap returns the SDK's error.
func (e *StartupError) Unwrap() error { return e.Err }

// clientTarget returns the endpoint and region of a *kinesis.Client, for messages.
func clientTarget(c Client) (endpoint, region string) {
	kc, ok := c.(*kinesis.Client)
	if !ok {
		return "", ""
	}
	o := kc.Options()
	return aws.ToString(o.BaseEndpoint), o.Region
}

// describeCause says in a few words why a call failed: the network's or the service's
// own words rather than the SDK's chain of wrappers.
func describeCause(err error, timeout time.Duration) string {
	var ce *CredentialsError
	var dnsErr *net.DNSError
	var apiErr smithy.APIError
	switch {
	case errors.As(err, &ce):
		return "no AWS credentials: " + ce.Err.Error()
	case credentialsFailure(err):
		var op *smithy.OperationError
		errors.As(err, &op)
		return "no AWS credentials: " + op.Err.Error()
	case errors.As(err, &dnsErr):
		return "cannot resolve " + dnsErr.Name + ": " + dnsErr.Err
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed without an answer"
	case errors.As(err, &apiErr):
		msg := apiErr.ErrorCode()
		if m := apiErr.ErrorMessage(); m != "" {
			msg += ": " + m
		}
		return msg
	case errors.Is(err, context.DeadlineExceeded):
		return "no answer within " + timeout.String() + " or the caller's deadline"
	case errors.Is(err, context.Canceled):
		return "cancelled by the caller"
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return "no answer (network timeout)"
	}
	if s := httpStatus(err); s > 0 {
		return fmt.Sprintf("HTTP status %d", s)
	}
	return err.Error()
}

// describe reads the stream's record size limit.
func (p *Producer) describe(ctx context.Context) (int, error) {
	in := &kinesis.DescribeStreamSummaryInput{}
	if p.cfg.StreamName != "" {
		in.StreamName = aws.String(p.cfg.StreamName)
	}
	if p.cfg.StreamARN != "" {
		in.StreamARN = aws.String(p.cfg.StreamARN)
	}
	rctx, cancel := context.WithTimeout(ctx, p.cfg.RequestTimeout)
	out, err := p.client.DescribeStreamSummary(rctx, in, noRetry)
	cancel()
	if err != nil {
		return 0, fmt.Errorf("stream %q: DescribeStreamSummary: %w", p.stream, err)
	}
	if out.StreamDescriptionSummary == nil || out.StreamDescriptionSummary.MaxRecordSizeInKiB == nil {
		return DefaultRecordBytes, nil
	}
	kib := int(*out.StreamDescriptionSummary.MaxRecordSizeInKiB)
	if kib < 1 || kib > MaxRecordBytes>>10 {
		return DefaultRecordBytes, nil
	}
	return kib << 10, nil
}

// Put hands one user record to the producer. The data is copied before Put
// returns, so the caller may reuse its buffer; the key and tag strings are
// kept (they must not be built over reused memory with unsafe). An empty
// explicitHashKey routes the record by its partition key.
//
// Put returns an error, and the producer keeps nothing, if the producer is
// shut down (ErrShutdown), the partition key or explicit hash key is invalid
// (ErrInvalidRecord) or the record cannot fit in one Kinesis record
// (ErrRecordTooLarge). While the backlog is full Put blocks until there is
// room or ctx ends, and then returns an error wrapping ctx.Err(). Once Put
// returned nil the record ends delivered or dropped with a reason reported
// to the HookDropped hooks, otel.Handle, the metrics and the next Flush.
//
// With aggregation off, tags are not sent.
func (p *Producer) Put(ctx context.Context, partitionKey, explicitHashKey string, data []byte, tags []aggregation.Tag) error {
	return p.PutItems(ctx, partitionKey, explicitHashKey, data, tags, 1)
}

// PutItems is Put for a user record that holds items telemetry items (spans, data
// points, log records): if the record is dropped, its DropError counts them in Items,
// so that a drop can be reported in the caller's units. items below 1 count as 1.
func (p *Producer) PutItems(ctx context.Context, partitionKey, explicitHashKey string, data []byte, tags []aggregation.Tag, items int) error {
	if items < 1 {
		items = 1
	} else if items > 1<<31-1 {
		items = 1<<31 - 1
	}
	if err := checkPartitionKey(partitionKey); err != nil {
		return err
	}
	var h aggregation.HashKey
	if explicitHashKey == "" {
		h = aggregation.HashPartitionKey(partitionKey)
	} else {
		var err error
		if h, err = aggregation.ParseHashKey(explicitHashKey); err != nil {
			return fmt.Errorf("explicit hash key: %w: %w", ErrInvalidRecord, err)
		}
	}
	size := userSize(partitionKey, explicitHashKey, len(data), tags)
	// alone is the Kinesis record size of the user record on its own,
	// exact or (for the common small record) an upper bound below aggMax.
	var alone int
	if p.cfg.DisableAggregation {
		alone = len(data) + len(partitionKey)
	} else if alone = aloneBound(partitionKey, explicitHashKey, len(data), tags); alone > p.aggMax {
		alone = aggregation.SingleSize(partitionKey, explicitHashKey, len(data), tags) + len(partitionKey)
	}
	if alone > p.recordMax {
		return fmt.Errorf("stream %q: user record of %s of data (%d as a Kinesis record) is over the record size limit of %d bytes: %w",
			p.stream, plural.Count(len(data), "byte"), alone, p.recordMax, ErrRecordTooLarge)
	}
	// Puts leave room for the next request's charge beyond its records, so
	// that it can always go, and for closing an aggregate to make room for
	// this one (see producer_memory.go).
	need := chargeBound(alone, partitionKey, explicitHashKey) + p.perReq + p.sealMax

	p.mu.Lock()
	for {
		if p.st.closed {
			p.mu.Unlock()
			return errPutShutdown
		}
		if over := p.st.mem + need - p.cfg.BacklogBytes; over > 0 && p.st.idleBytes > 0 {
			p.freeIdleLocked(over) // kept body buffers give way to records
		}
		if p.st.hasRoom(need, &p.cfg) {
			break
		}
		// Full: make sure what is buffered moves, then wait for room.
		p.pressureLocked()
		ch := p.st.roomWaiterLocked()
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			p.mu.Lock()
			n, b := p.st.queued, p.st.mem
			p.st.roomWaiters--
			p.mu.Unlock()
			return fmt.Errorf("stream %q: backlog full (%s waiting to be sent, %s held of backlog_bytes %d): %w",
				p.stream, plural.Count(n, "user record"), plural.Count(b, "byte"), p.cfg.BacklogBytes, ctx.Err())
		}
		p.mu.Lock()
		p.st.roomWaiters--
	}
	p.addLocked(h, partitionKey, explicitHashKey, data, tags, size, alone, int32(items))
	p.mu.Unlock()
	return nil
}

// MaxDataSize returns the most data bytes Put accepts in one user record
// with this partition key, explicit hash key and tags on this stream: the
// record size limit less the aggregation overhead. Exporters split their
// payloads to fit.
func (p *Producer) MaxDataSize(partitionKey, explicitHashKey string, tags []aggregation.Tag) int {
	fits := func(n int) bool {
		if p.cfg.DisableAggregation {
			return n+len(partitionKey) <= p.recordMax
		}
		var empty aggregation.Aggregator
		return empty.SizeWith(partitionKey, explicitHashKey, n, tags)+len(partitionKey) <= p.recordMax
	}
	lo, hi := 0, p.recordMax // fits(lo) unless nothing fits
	if !fits(0) {
		return 0
	}
	for lo < hi {
		mid := lo + (hi-lo+1)/2
		if fits(mid) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

// Flush sends every buffered record and returns when all records put before
// it are delivered or dropped, or when ctx ends (then with an error wrapping
// ctx.Err() and saying how many are still pending). It returns a DropError
// (or several, joined) for drops among them that no earlier Flush reported.
// It is safe to call concurrently with anything, also after Shutdown.
func (p *Producer) Flush(ctx context.Context) error {
	p.mu.Lock()
	w := p.flushLocked()
	p.unlockReport(nil)
	p.poke()
	return p.waitFlush(ctx, w)
}

// waitFlush waits for a flush waiter registered under the lock.
func (p *Producer) waitFlush(ctx context.Context, w *flushWaiter) error {
	select {
	case <-w.done:
		return w.err
	case <-ctx.Done():
	}
	p.mu.Lock()
	if !p.st.removeWaiter(w) { // completed meanwhile
		p.mu.Unlock()
		<-w.done
		return w.err
	}
	n := p.st.pendingUpTo(w.epoch)
	p.mu.Unlock()
	return fmt.Errorf("stream %q: flush: %s still pending: %w", p.stream, plural.Count(n, "user record"), ctx.Err())
}

// Shutdown stops accepting records, sends everything buffered and waits
// until every record is delivered or dropped, then stops every goroutine.
// If ctx ends first, the records still held are dropped (reason
// DropShutdown; requests in flight are cancelled and their records counted
// as dropped too, though Kinesis may have stored them) and the returned error
// wraps ctx.Err() and says how many were dropped. Otherwise it returns what
// Flush would. Calls after the first return nil once the first has
// finished, or ctx.Err() if ctx ends before. Shutdown does not close the
// Kinesis client.
func (p *Producer) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	if p.st.closed {
		p.mu.Unlock()
		select {
		case <-p.shutdownDone:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	p.st.closed = true
	p.st.wakeRoomWaitersLocked() // blocked Puts return ErrShutdown
	w := p.flushLocked()
	p.unlockReport(nil)
	p.poke()

	var err error
	select {
	case <-w.done:
		err = w.err
	case <-ctx.Done():
		p.mu.Lock()
		p.st.abandoned = true
		p.st.abandonCause = ctx.Err()
		p.unlockReport(p.dropHeldLocked(ctx.Err()))
	}
	p.cancel() // requests abandoned in flight, and a shard map read
	close(p.stop)
	p.wg.Wait()

	p.mu.Lock()
	if p.st.abandoned {
		if n := p.st.shutdownDropped; n > 0 {
			err = fmt.Errorf("stream %q: shutdown: dropped %s (%s) still held: %w",
				p.stream, plural.Count(n, "user record"), plural.Count(p.st.shutdownDroppedBytes, "byte"), ctx.Err())
		} else {
			select {
			case <-w.done:
				err = w.err
			default:
			}
		}
	}
	p.mu.Unlock()
	p.meters.close()
	close(p.shutdownDone)
	return err
}

// unlockReport releases the lock, then reports the shard map changes and the
// drops (these and any deferred ones) to the hooks and completes the Flush
// calls whose records all ended, in that order: the HookDropped hooks have
// seen every drop a Flush returns.
func (p *Producer) unlockReport(notes []*DropError) { p.unlockReportAfter(notes, nil) }

// unlockReportAfter is unlockReport that runs first, if not nil, right after
// releasing the lock: what a Flush completed here must see done.
func (p *Producer) unlockReportAfter(notes []*DropError, first func()) {
	notes = append(notes, p.st.takeDeferred()...)
	done := p.st.doneWaiters
	p.st.doneWaiters = nil
	changes := p.st.mapChanges
	p.st.mapChanges = nil
	p.mu.Unlock()
	if first != nil {
		first()
	}
	p.reportMaps(changes)
	p.report(notes)
	for _, w := range done {
		close(w.done)
	}
}

// poke wakes the dispatcher.
func (p *Producer) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// askRefresh asks the refresher for a new shard map; refreshLoop paces the
// reads asked for.
func (p *Producer) askRefresh() {
	select {
	case p.refresh <- struct{}{}:
	default:
	}
}

// checkPartitionKey is aggregation.CheckPartitionKey, its error wrapping
// ErrInvalidRecord.
func checkPartitionKey(pk string) error {
	if err := aggregation.CheckPartitionKey(pk); err != nil {
		return fmt.Errorf("%w: %w", err, ErrInvalidRecord)
	}
	return nil
}

// aloneBound bounds the size of an aggregated record holding only this user
// record, outer partition key included, without building one: magic and
// digest, the key tables' entries, the record's framing (every varint of a
// record below 256 MiB fits 4 bytes) and its tags' framing.
func aloneBound(pk, ehk string, dataLen int, tags []aggregation.Tag) int {
	n := len(aggregation.Magic) + aggregation.DigestSize + 2*len(pk) + len(ehk) + dataLen + 32
	for _, t := range tags {
		n += len(t.Key) + len(t.Value) + 16
	}
	return n
}

// userSize is what a user record counts against the backlog byte budget.
func userSize(pk, ehk string, dataLen int, tags []aggregation.Tag) int64 {
	n := len(pk) + len(ehk) + dataLen
	for _, t := range tags {
		n += len(t.Key) + len(t.Value)
	}
	return int64(n)
}
