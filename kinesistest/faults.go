package kinesistest

import (
	"context"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Fault is what the server does to a request instead of, or before, serving it. Faults
// are scripted with [Server.InjectRequests] and [Server.InjectRequestFunc]; the helpers
// below build the common ones, and fields combine (a Delay then an Error, say). The
// steps run in field order: Delay, Stall, CloseConnection, Error, LoseResponse.
type Fault struct {
	// Delay holds the request this long before going on. A client that gives up, or
	// Close, ends the wait and the request is not served.
	Delay time.Duration
	// Stall holds the request until [Server.Release] is called, the client gives up, or
	// the server closes. Only a release lets it go on.
	Stall bool
	// CloseConnection closes the connection without an answer, before the request is
	// served: nothing is written to any stream. The client sees a connection reset or EOF.
	CloseConnection bool
	// Error, if not nil, is the answer: the request is not served. An empty Message is
	// filled with the one Kinesis writes for the Type.
	Error *APIError
	// LoseResponse serves the request, so its records are written, and then closes the
	// connection without an answer: the client cannot tell whether it succeeded, the case
	// that makes producers write duplicates.
	LoseResponse bool
}

func errorFault(status int, typ string) Fault {
	return Fault{Error: &APIError{StatusCode: status, Type: typ}}
}

// ErrorFault answers with an error of the given HTTP status, __type and message.
func ErrorFault(status int, typ, message string) Fault {
	return Fault{Error: &APIError{StatusCode: status, Type: typ, Message: message}}
}

// Throttling answers 400 ThrottlingException "Rate exceeded", the generic AWS throttle.
func Throttling() Fault { return errorFault(http.StatusBadRequest, typeThrottling) }

// LimitExceeded answers 400 LimitExceededException, Kinesis's answer to too many control
// plane calls (ListShards, DescribeStream...) on a stream.
func LimitExceeded() Fault { return errorFault(http.StatusBadRequest, typeLimitExceeded) }

// KMSThrottling answers 400 KMSThrottlingException, which Kinesis returns when KMS throttles
// an encrypted stream's writes (aws-sdk-go-v2 does not count it as a throttle).
func KMSThrottling() Fault { return errorFault(http.StatusBadRequest, typeKMSThrottling) }

// InternalFailure answers 500 InternalFailure "Internal service failure.".
func InternalFailure() Fault { return errorFault(http.StatusInternalServerError, typeInternalFailure) }

// ServiceUnavailable answers 503 ServiceUnavailable.
func ServiceUnavailable() Fault {
	return errorFault(http.StatusServiceUnavailable, typeServiceUnavailable)
}

// ResourceNotFound answers 400 ResourceNotFoundException naming the request's stream, as if
// it did not exist.
func ResourceNotFound() Fault { return errorFault(http.StatusBadRequest, typeResourceNotFound) }

// AccessDenied answers 400 AccessDeniedException, as if the caller's IAM policy did not
// allow the operation.
func AccessDenied() Fault { return errorFault(http.StatusBadRequest, typeAccessDenied) }

// ProvisionedThroughputExceeded answers 400 ProvisionedThroughputExceededException for the
// whole request, as Kinesis does for PutRecord and GetRecords over a shard's capacity.
func ProvisionedThroughputExceeded() Fault {
	return errorFault(http.StatusBadRequest, typeThroughputExceeded)
}

// Latency delays the request by d before serving it.
func Latency(d time.Duration) Fault { return Fault{Delay: d} }

// Stall holds the request until [Server.Release], the client giving up, or Close.
func Stall() Fault { return Fault{Stall: true} }

// DropConnection closes the connection without an answer and without serving the request.
func DropConnection() Fault { return Fault{CloseConnection: true} }

// DropResponse serves the request and then closes the connection without an answer.
func DropResponse() Fault { return Fault{LoseResponse: true} }

func (f Fault) isZero() bool {
	return f.Delay <= 0 && !f.Stall && !f.CloseConnection && f.Error == nil && !f.LoseResponse
}

// RequestInfo describes a request to a fault function (see [Server.InjectRequestFunc]).
type RequestInfo struct {
	// Seq numbers the requests the server received, from 1, in arrival order.
	Seq int64
	// Operation is the Kinesis operation, such as "PutRecords".
	Operation string
	// Stream is the stream the request names (by StreamName, StreamARN or shard
	// iterator), "" if none.
	Stream string
	// Attempt is the SDK's attempt number from the amz-sdk-request header, 0 if absent.
	Attempt int
	// Header holds the request's HTTP headers. Do not modify it.
	Header http.Header
}

// EntryFault is the outcome a test scripts for one record written by PutRecords or
// PutRecord (see [Server.InjectEntryRate], [Server.InjectEntryShards] and
// [Server.InjectEntryFunc]).
type EntryFault int

const (
	// EntryOK lets the record be written, subject to write capacity.
	EntryOK EntryFault = iota
	// EntryThrottled refuses the record with ProvisionedThroughputExceededException
	// "Rate exceeded for shard ... in stream ... under account ...".
	EntryThrottled
	// EntryInternalFailure refuses the record with InternalFailure "Internal service
	// failure.".
	EntryInternalFailure
)

// String returns the error code the fault answers with, or "OK".
func (f EntryFault) String() string {
	switch f {
	case EntryThrottled:
		return typeThroughputExceeded
	case EntryInternalFailure:
		return typeInternalFailure
	}
	return "OK"
}

// EntryInfo describes one record to an entry fault function.
type EntryInfo struct {
	// Seq is the request's number (see [RequestInfo]).
	Seq int64
	// Operation is "PutRecords" or "PutRecord".
	Operation string
	// Index is the entry's position in the request, from 0.
	Index int
	// Stream and ShardID say where the record would land.
	Stream, ShardID string
	// PartitionKey and ExplicitHashKey are as sent ("" when no ExplicitHashKey).
	PartitionKey, ExplicitHashKey string
	// Data is the record's data. Do not modify it.
	Data []byte
	// Attempt is the SDK's attempt number from the amz-sdk-request header, 0 if absent.
	Attempt int
}

type requestRule struct {
	remaining int // < 0: unlimited
	ops       []string
	fault     Fault
}

type entryRule struct {
	fault  EntryFault
	shards []string // for a shard rule

	mu   sync.Mutex // guards rate and rng, for a rate rule
	rate float64
	rng  *rand.Rand

	fn func(EntryInfo) EntryFault // for a function rule
}

func (r *entryRule) decide(e *EntryInfo) EntryFault {
	switch {
	case r.fn != nil:
		return r.fn(*e)
	case r.rng != nil:
		r.mu.Lock()
		hit := r.rng.Float64() < r.rate
		r.mu.Unlock()
		if hit {
			return r.fault
		}
	case slices.Contains(r.shards, e.ShardID):
		return r.fault
	}
	return EntryOK
}

// faults holds the scripted faults. Its mutex is never held while a test's function runs.
type faults struct {
	mu          sync.Mutex
	requests    []*requestRule
	requestFunc func(RequestInfo) (Fault, bool)
	entries     []*entryRule

	stallMu sync.Mutex
	release chan struct{} // closed by Release; replaced after
	stalled int
	changed chan struct{} // closed when stalled changes; replaced after
}

func newFaults() *faults {
	return &faults{release: make(chan struct{}), changed: make(chan struct{})}
}

// requestFault picks the fault for a request: the first counted rule that matches its
// operation, else the function's answer.
func (f *faults) requestFault(info RequestInfo) Fault {
	f.mu.Lock()
	for i, r := range f.requests {
		if len(r.ops) > 0 && !slices.Contains(r.ops, info.Operation) {
			continue
		}
		if r.remaining > 0 {
			r.remaining--
			if r.remaining == 0 {
				f.requests = slices.Delete(f.requests, i, i+1)
			}
		}
		f.mu.Unlock()
		return r.fault
	}
	fn := f.requestFunc
	f.mu.Unlock()
	if fn != nil {
		if fault, ok := fn(info); ok {
			return fault
		}
	}
	return Fault{}
}

// entryFault picks the outcome for one record: the first rule, in the order they were
// added, that does not answer EntryOK.
func (f *faults) entryFault(info *EntryInfo) EntryFault {
	f.mu.Lock()
	rules := f.entries
	f.mu.Unlock()
	for _, r := range rules {
		if out := r.decide(info); out != EntryOK {
			return out
		}
	}
	return EntryOK
}

func (f *faults) hasEntryRules() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.entries) > 0
}

func (f *faults) addEntryRule(r *entryRule) {
	f.mu.Lock()
	// Copy on write: entryFault reads the slice without the lock.
	f.entries = append(slices.Clip(f.entries), r)
	f.mu.Unlock()
}

func (f *faults) clear() {
	f.mu.Lock()
	f.requests = nil
	f.requestFunc = nil
	f.entries = nil
	f.mu.Unlock()
}

func (f *faults) setStalled(delta int) {
	f.stallMu.Lock()
	f.stalled += delta
	close(f.changed)
	f.changed = make(chan struct{})
	f.stallMu.Unlock()
}

// stall holds until Release, ctx's end or closing; it reports whether it was released.
func (f *faults) stall(ctx context.Context, closing <-chan struct{}) bool {
	f.stallMu.Lock()
	release := f.release
	f.stallMu.Unlock()
	f.setStalled(1)
	defer f.setStalled(-1)
	select {
	case <-release:
		return true
	case <-ctx.Done():
	case <-closing:
	}
	return false
}

func (f *faults) releaseAll() {
	f.stallMu.Lock()
	close(f.release)
	f.release = make(chan struct{})
	f.stallMu.Unlock()
}

// InjectRequests gives fault f to the next n requests whose operation is one of ops (any
// operation when ops is empty). A negative n gives it to every such request until
// [Server.ClearFaults]. Counted injections are consulted in the order they were added,
// before the function of [Server.InjectRequestFunc]; a request takes at most one fault.
//
//	srv.InjectRequests(2, kinesistest.ServiceUnavailable(), "PutRecords")
func (s *Server) InjectRequests(n int, f Fault, ops ...string) {
	if n == 0 || f.isZero() {
		return
	}
	s.faults.mu.Lock()
	s.faults.requests = append(s.faults.requests, &requestRule{remaining: n, ops: slices.Clone(ops), fault: f})
	s.faults.mu.Unlock()
}

// InjectRequestFunc sets the function that picks a fault for each request that no
// counted injection took: it returns the fault and true, or false to serve the request
// normally. It replaces any earlier function; nil removes it. fn is called concurrently
// for concurrent requests, with no lock of the server held, so it may call the server's
// methods.
func (s *Server) InjectRequestFunc(fn func(RequestInfo) (Fault, bool)) {
	s.faults.mu.Lock()
	s.faults.requestFunc = fn
	s.faults.mu.Unlock()
}

// InjectEntryRate refuses each record written by PutRecords or PutRecord with fault f
// with probability rate (0 to 1), drawn from a pseudo-random sequence seeded with seed:
// the same records in the same order meet the same outcomes, run after run. Records of
// concurrent requests draw in whatever order they arrive. A refused PutRecord answers
// the whole request with the error.
func (s *Server) InjectEntryRate(f EntryFault, rate float64, seed uint64) {
	s.faults.addEntryRule(&entryRule{fault: f, rate: rate, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))})
}

// InjectEntryShards refuses with fault f every record routed to one of the shards named
// (shard IDs such as "shardId-000000000001", in any stream).
func (s *Server) InjectEntryShards(f EntryFault, shardIDs ...string) {
	s.faults.addEntryRule(&entryRule{fault: f, shards: slices.Clone(shardIDs)})
}

// InjectEntryFunc adds a function that picks each record's outcome. Entry rules are
// consulted in the order they were added; the first that does not answer [EntryOK]
// decides. fn is called with no lock of the server held, so it may call the server's
// methods; it may be called concurrently.
func (s *Server) InjectEntryFunc(fn func(EntryInfo) EntryFault) {
	if fn != nil {
		s.faults.addEntryRule(&entryRule{fn: fn})
	}
}

// ClearFaults removes every scripted request and entry fault. Requests already stalled
// stay stalled until [Server.Release].
func (s *Server) ClearFaults() { s.faults.clear() }

// Release lets every request stalled now go on; requests that stall later wait for the
// next Release.
func (s *Server) Release() { s.faults.releaseAll() }

// Stalled returns how many requests are stalled now.
func (s *Server) Stalled() int {
	s.faults.stallMu.Lock()
	defer s.faults.stallMu.Unlock()
	return s.faults.stalled
}

// WaitStalled waits until at least n requests are stalled, or ctx ends.
func (s *Server) WaitStalled(ctx context.Context, n int) error {
	for {
		s.faults.stallMu.Lock()
		stalled, changed := s.faults.stalled, s.faults.changed
		s.faults.stallMu.Unlock()
		if stalled >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
