package kinesistest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/otelkinesis/otelkinesis/internal/outage"
	"github.com/otelkinesis/otelkinesis/internal/plural"
)

// targetPrefix starts the X-Amz-Target header of every Kinesis operation.
const targetPrefix = "Kinesis_20131202."

// contentType is the media type of the JSON 1.1 protocol aws-sdk-go-v2's Kinesis client
// speaks.
const contentType = "application/x-amz-json-1.1"

// Server is an in-process Kinesis endpoint listening on a loopback port. Create it with
// [NewServer], point a Kinesis client at [Server.URL], and [Server.Close] it when done.
// It is safe for concurrent use.
type Server struct {
	cfg       config
	url       string
	hs        *http.Server
	serveDone chan struct{}
	closing   chan struct{}
	closeOnce sync.Once
	requestID string // prefix of x-amzn-RequestId values

	activeMu sync.Mutex
	active   int  // handlers running
	closed   bool // no handler may start
	idle     chan struct{}

	mu      sync.Mutex // guards streams, gen and every stream and shard
	streams map[string]*stream
	gen     uint64

	faults   *faults
	ln       *pausableListener
	connMu   sync.Mutex // guards conns
	conns    map[net.Conn]struct{}
	out      *outage.Controller[OutageMode] // serializes outage changes; ends Outage windows
	outage   atomic.Pointer[outageState]    // nil when no outage is in progress
	log      requestLog
	counters counters
	seq      atomic.Int64
}

// NewServer starts a server on 127.0.0.1 at a port the system picks. It panics if it
// cannot listen, as net/http/httptest.NewServer does: a test cannot go on without it.
func NewServer(opts ...Option) *Server {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("kinesistest: listen on a loopback port: %v", err))
	}
	s := &Server{
		cfg:       newConfig(opts),
		url:       "http://" + ln.Addr().String(),
		ln:        newPausableListener(ln),
		conns:     make(map[net.Conn]struct{}),
		serveDone: make(chan struct{}),
		closing:   make(chan struct{}),
		streams:   make(map[string]*stream),
		faults:    newFaults(),
		requestID: fmt.Sprintf("%08x", uint32(time.Now().UnixNano())),
	}
	s.out = outage.New(s.switchOutageLocked, errServerClosed)
	s.hs = &http.Server{
		Handler:           http.HandlerFunc(s.serveHTTP),
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
		ConnState:         s.connState,
	}
	go func() {
		defer close(s.serveDone)
		_ = s.hs.Serve(s.ln) // returns http.ErrServerClosed after Close
	}()
	return s
}

// URL returns the endpoint to give a Kinesis client, "http://127.0.0.1:PORT", as
// aws-sdk-go-v2's BaseEndpoint.
func (s *Server) URL() string { return s.url }

// Region returns the region that stream ARNs name.
func (s *Server) Region() string { return s.cfg.region }

// AccountID returns the account that stream ARNs and error messages name.
func (s *Server) AccountID() string { return s.cfg.accountID }

// Close stops the server: it stops listening, ends stalled and delayed requests and an
// outage (stopping the timer of an [Server.Outage] window), closes every connection and
// waits until every request handler has returned. Streams and the request log stay
// readable. Close is safe to call more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.out.Close() // no window's timer runs after it returns
		s.activeMu.Lock()
		s.closed = true
		wait := s.active > 0
		if wait {
			s.idle = make(chan struct{})
		}
		idle := s.idle
		s.activeMu.Unlock()
		_ = s.hs.Close()
		if wait {
			<-idle
		}
		<-s.serveDone
	})
}

// enter registers a running handler; it fails once Close has begun.
func (s *Server) enter() bool {
	s.activeMu.Lock()
	defer s.activeMu.Unlock()
	if s.closed {
		return false
	}
	s.active++
	return true
}

func (s *Server) leave() {
	s.activeMu.Lock()
	s.active--
	if s.active == 0 && s.closed && s.idle != nil {
		close(s.idle)
		s.idle = nil
	}
	s.activeMu.Unlock()
}

// call is one request being served.
type call struct {
	info   RequestInfo
	rec    *RecordedRequest
	body   []byte
	logged bool // rec is in the log
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.enter() {
		dropConnection(w)
		return
	}
	defer s.leave()

	seq := s.seq.Add(1)
	s.counters.requests.Add(1)
	rec := &RecordedRequest{Seq: seq, Time: s.cfg.now(), Header: r.Header.Clone()}
	rec.Attempt, rec.MaxAttempts = parseAttempt(r.Header.Get("amz-sdk-request"))

	op, body, readErr := s.readRequest(r)
	rec.Operation = op
	if readErr == nil {
		rec.Stream = s.peekStream(body)
	}
	c := &call{
		info: RequestInfo{Seq: seq, Operation: op, Stream: rec.Stream, Attempt: rec.Attempt, Header: r.Header},
		rec:  rec,
		body: body,
	}
	defer s.finish(c) // for the paths that end without an answer

	if o := s.outage.Load(); o != nil {
		s.meetOutage(w, r, c, o)
		return
	}

	var fault Fault
	if op != "" {
		fault = s.faults.requestFault(c.info)
	}
	if !fault.isZero() {
		s.counters.injected.Add(1)
		f := fault
		rec.Fault = &f
	}
	if fault.Delay > 0 && !s.sleep(r.Context(), fault.Delay) || fault.Stall && !s.faults.stall(r.Context(), s.closing) {
		// The client gave up or the server is closing: answer nothing (returning would
		// make net/http answer 200 with an empty body).
		s.logUnserved(c)
		s.hangUp(w, c, &s.counters.abandoned)
		return
	}
	if fault.CloseConnection {
		s.logUnserved(c)
		s.hangUp(w, c, &s.counters.dropped)
		return
	}
	if fault.Error != nil {
		s.logUnserved(c)
		e := *fault.Error
		if e.Message == "" {
			e.Message = s.defaultMessage(e.Type, op, rec.Stream)
		}
		s.writeError(w, c, &e)
		return
	}
	if readErr == errHangUp {
		s.hangUp(w, c, &s.counters.dropped)
		return
	}
	if readErr != nil {
		s.writeError(w, c, readErr)
		return
	}

	resp, apiErr := s.dispatch(c)
	if fault.LoseResponse {
		s.hangUp(w, c, &s.counters.dropped)
		return
	}
	if apiErr != nil {
		s.writeError(w, c, apiErr)
		return
	}
	s.writeJSON(w, c, http.StatusOK, resp)
}

// logUnserved puts the entries of a PutRecords or PutRecord request that a fault keeps
// from being served in its record, so that a test sees what was sent.
func (s *Server) logUnserved(c *call) {
	if !s.cfg.logRequests || c.body == nil {
		return
	}
	switch c.info.Operation {
	case "PutRecords":
		var in struct{ Records []putEntry }
		if json.Unmarshal(c.body, &in) == nil {
			s.logEntries(c.rec, in.Records, nil)
		}
	case "PutRecord":
		var in putEntry
		if json.Unmarshal(c.body, &in) == nil {
			s.logEntries(c.rec, []putEntry{in}, nil)
		}
	}
}

// finish puts the request in the log, once. It runs before the client can see an answer
// or a closed connection, so that a test that has its answer finds the request logged.
func (s *Server) finish(c *call) {
	if c.logged {
		return
	}
	c.logged = true
	if s.cfg.logRequests {
		s.log.add(*c.rec)
	}
}

// sleep waits d; it reports false if ctx ended or the server closed first.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-s.closing:
	}
	return false
}

// hangUp counts the request in n, logs it and closes the connection without an answer.
func (s *Server) hangUp(w http.ResponseWriter, c *call, n *atomic.Int64) {
	n.Add(1)
	s.finish(c)
	dropConnection(w)
}

// dropConnection closes the client's connection without writing an answer.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Cannot happen on an HTTP/1.1 server; answer something rather than nothing.
		http.Error(w, "connection not hijackable", http.StatusInternalServerError)
		return
	}
	_ = conn.Close()
}

// maxBodyBytes bounds a request body: a PutRecords request at the byte limit, base64
// encoded, with room for 500 entries' JSON and keys.
func (s *Server) maxBodyBytes() int64 {
	return int64(s.cfg.requestLimit)/3*4 + 4<<20
}

// maxDrainBytes is how much of a too large request body the server reads and discards
// before it gives up on the connection.
const maxDrainBytes = 256 << 20

// errHangUp tells serveHTTP to close the connection without an answer.
var errHangUp = &APIError{StatusCode: http.StatusRequestEntityTooLarge, Type: typeSerialization, Message: "request body far too large"}

// readRequest checks the protocol headers and reads the body.
func (s *Server) readRequest(r *http.Request) (op string, body []byte, err *APIError) {
	// The body is read first, whatever the request: one left unread makes net/http
	// linger over closing the connection, past Close.
	limit := s.maxBodyBytes()
	b, rerr := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if rerr != nil {
		return "", nil, clientError(typeSerialization, "reading the request body: %v", rerr)
	}
	if int64(len(b)) > limit {
		// Read the rest so that the connection stays usable; a body too large even for
		// that is cut off.
		if n, _ := io.CopyN(io.Discard, r.Body, maxDrainBytes); n == maxDrainBytes {
			return "", nil, errHangUp
		}
	}
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, targetPrefix)
	if !ok || op == "" || r.Method != http.MethodPost {
		return "", nil, clientError(typeUnknownOperation,
			"kinesistest serves POST requests with X-Amz-Target %s<Operation>; got %s %s with X-Amz-Target %q",
			targetPrefix, r.Method, r.URL.Path, target)
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != contentType && mt != "application/x-amz-json-1.0" && mt != "application/json" {
		return op, nil, clientError(typeSerialization,
			"kinesistest speaks the JSON 1.1 protocol (Content-Type %s); got Content-Type %q", contentType, r.Header.Get("Content-Type"))
	}
	if int64(len(b)) > limit {
		return op, nil, &APIError{StatusCode: http.StatusRequestEntityTooLarge, Type: typeSerialization,
			Message: "request body over " + plural.Count(limit, "byte")}
	}
	if len(b) == 0 {
		b = []byte("{}")
	}
	return op, b, nil
}

// peekStream finds the stream a request body names, for fault functions and the log.
func (s *Server) peekStream(body []byte) string {
	f := peekStrings(body, func(name string) bool {
		return name == "StreamName" || name == "StreamARN" || name == "ShardIterator"
	})
	if name, ok := f["StreamName"]; ok {
		return name
	}
	if arn, ok := f["StreamARN"]; ok {
		if name, ok := s.parseStreamARN(arn); ok {
			return name
		}
		return ""
	}
	if it, err := decodeIterator(f["ShardIterator"]); err == nil {
		return it.stream
	}
	return ""
}

func (s *Server) newRequestID(seq int64) string {
	return fmt.Sprintf("%s-%04x-4%03x-8000-%012x", s.requestID, uint16(seq>>48), uint16(seq>>36)&0xfff, uint64(seq)&0xffffffffffff)
}

func (s *Server) writeJSON(w http.ResponseWriter, c *call, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Every response type marshals; this guards against a future mistake.
		status = http.StatusInternalServerError
		body = []byte(`{"__type":"InternalFailure","message":"kinesistest: encoding the response failed"}`)
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Amzn-Requestid", s.newRequestID(c.info.Seq))
	c.rec.StatusCode = status
	s.finish(c)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (s *Server) writeError(w http.ResponseWriter, c *call, e *APIError) {
	s.counters.requestErrors.Add(1)
	c.rec.ErrorType, c.rec.ErrorMessage = e.Type, e.Message
	s.writeJSON(w, c, e.StatusCode, struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{e.Type, e.Message})
}

// decodeInput reads a request body into in; a body that is not the JSON the operation
// takes is refused as Kinesis refuses it, with SerializationException.
func decodeInput(body []byte, in any) *APIError {
	if err := json.Unmarshal(body, in); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return clientError(typeSerialization, "malformed JSON at offset %d: %v", syn.Offset, err)
		}
		return clientError(typeSerialization, "%v", err)
	}
	return nil
}
