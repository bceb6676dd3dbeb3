package kinesistest

import (
	"bytes"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// RecordedRequest is one request as the server saw and answered it (see
// [Server.Requests]).
type RecordedRequest struct {
	// Seq numbers the requests the server received, from 1, in arrival order.
	Seq int64
	// Time is when the request arrived, by the server's clock.
	Time time.Time
	// Operation is the Kinesis operation from X-Amz-Target, such as "PutRecords".
	Operation string
	// Stream is the stream the request named (resolved from StreamARN or the shard
	// iterator when no StreamName was sent), "" if none.
	Stream string
	// Attempt and MaxAttempts come from the SDK's amz-sdk-request header
	// ("attempt=1; max=3"); 0 when absent.
	Attempt, MaxAttempts int
	// Header holds the request's HTTP headers, such as Authorization.
	Header http.Header
	// Entries are the records of a PutRecords or PutRecord request, in request order,
	// each with its outcome.
	Entries []RecordedEntry
	// StatusCode is the HTTP status answered, 0 when no answer was written (the
	// connection was dropped, or the client gave up during a delay or stall).
	StatusCode int
	// ErrorType and ErrorMessage are the error answered, "" on success.
	ErrorType, ErrorMessage string
	// Fault is the injected fault the request met, nil if none.
	Fault *Fault
	// Outage is the mode of the outage the request met (see [Server.StartOutage]), 0 if
	// none. Such a request was not served and got no answer.
	Outage OutageMode
}

// RecordedEntry is one record of a recorded PutRecords or PutRecord request.
type RecordedEntry struct {
	// PartitionKey and ExplicitHashKey are as sent ("" when no ExplicitHashKey).
	PartitionKey, ExplicitHashKey string
	// Data is the record's data as sent.
	Data []byte
	// ShardID and SequenceNumber say where the record landed; "" when it was refused.
	ShardID, SequenceNumber string
	// ErrorCode and ErrorMessage are the record's error, "" when it landed. A request
	// refused as a whole leaves them empty and sets the request's ErrorType instead.
	ErrorCode, ErrorMessage string
}

// Stats counts what the server did since it started (see [Server.Stats]).
type Stats struct {
	// Requests is the number of requests received.
	Requests int64
	// RequestErrors is the number of requests answered with an error, injected or not.
	RequestErrors int64
	// InjectedFaults is the number of requests that met an injected fault.
	InjectedFaults int64
	// DroppedConnections is the number of connections closed without an answer.
	DroppedConnections int64
	// Abandoned is the number of requests whose client gave up while they were delayed or
	// stalled, or that the server's Close ended.
	Abandoned int64
	// RecordsAccepted is the number of records written to a shard.
	RecordsAccepted int64
	// BytesAccepted is the data plus partition key bytes of those records.
	BytesAccepted int64
	// RecordsThrottled is the number of records refused with
	// ProvisionedThroughputExceededException, injected or for capacity.
	RecordsThrottled int64
	// RecordsOverCapacity is the part of RecordsThrottled refused because the shard's
	// write capacity was used up (see [WithWriteCapacity]).
	RecordsOverCapacity int64
	// RecordsFailed is the number of records refused with InternalFailure.
	RecordsFailed int64
	// OutageRequests is the number of requests that met an outage (see
	// [Server.StartOutage]): hung up on, or held unanswered. Each is also counted in
	// DroppedConnections, or in Abandoned when its client gave up or Close ended it.
	// Connections refused by [OutageRefuse] never reach the server and are not counted.
	OutageRequests int64
}

type counters struct {
	requests, requestErrors, injected, dropped, abandoned  atomic.Int64
	accepted, acceptedBytes, throttled, overCapacity, fail atomic.Int64
	outage                                                 atomic.Int64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Requests:            c.requests.Load(),
		RequestErrors:       c.requestErrors.Load(),
		InjectedFaults:      c.injected.Load(),
		DroppedConnections:  c.dropped.Load(),
		Abandoned:           c.abandoned.Load(),
		RecordsAccepted:     c.accepted.Load(),
		BytesAccepted:       c.acceptedBytes.Load(),
		RecordsThrottled:    c.throttled.Load(),
		RecordsOverCapacity: c.overCapacity.Load(),
		RecordsFailed:       c.fail.Load(),
		OutageRequests:      c.outage.Load(),
	}
}

type requestLog struct {
	mu   sync.Mutex
	reqs []RecordedRequest
}

func (l *requestLog) add(r RecordedRequest) {
	l.mu.Lock()
	l.reqs = append(l.reqs, r)
	l.mu.Unlock()
}

// Requests returns the requests received so far, in arrival order, each with its
// outcome. Requests still being served are not included yet. The result is a copy the
// caller may keep and modify.
func (s *Server) Requests() []RecordedRequest {
	s.log.mu.Lock()
	out := make([]RecordedRequest, len(s.log.reqs))
	copy(out, s.log.reqs)
	s.log.mu.Unlock()
	slices.SortFunc(out, func(a, b RecordedRequest) int { return int(a.Seq - b.Seq) })
	for i := range out {
		r := &out[i]
		r.Header = r.Header.Clone()
		r.Entries = slices.Clone(r.Entries)
		for j := range r.Entries {
			r.Entries[j].Data = bytes.Clone(r.Entries[j].Data)
		}
		if r.Fault != nil {
			f := *r.Fault
			if f.Error != nil {
				e := *f.Error
				f.Error = &e
			}
			r.Fault = &f
		}
	}
	return out
}

// RequestsFor returns the recorded requests of one operation, such as "PutRecords".
func (s *Server) RequestsFor(op string) []RecordedRequest {
	all := s.Requests()
	out := all[:0]
	for _, r := range all {
		if r.Operation == op {
			out = append(out, r)
		}
	}
	return out
}

// ResetRequests forgets the recorded requests. [Stats] keeps counting.
func (s *Server) ResetRequests() {
	s.log.mu.Lock()
	s.log.reqs = nil
	s.log.mu.Unlock()
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats { return s.counters.snapshot() }

// parseAttempt reads aws-sdk-go-v2's "amz-sdk-request: attempt=N; max=M" header.
func parseAttempt(h string) (attempt, max int) {
	for _, part := range strings.Split(h, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			continue
		}
		switch strings.TrimSpace(k) {
		case "attempt":
			attempt = n
		case "max":
			max = n
		}
	}
	return attempt, max
}
