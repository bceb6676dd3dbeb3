package otlpwire

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	collogpb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	logpb "go.opentelemetry.io/proto/otlp/logs/v1"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
)

// lgCapture is a log processor that keeps a copy of every record emitted.
type lgCapture struct {
	mu      sync.Mutex
	records []sdklog.Record
}

func (c *lgCapture) Enabled(context.Context, sdklog.EnabledParameters) bool { return true }
func (c *lgCapture) Shutdown(context.Context) error                         { return nil }
func (c *lgCapture) ForceFlush(context.Context) error                       { return nil }
func (c *lgCapture) OnEmit(_ context.Context, r *sdklog.Record) error {
	c.mu.Lock()
	c.records = append(c.records, r.Clone())
	c.mu.Unlock()
	return nil
}

// lgBodies holds a body of every value kind, nested, empty and unicode.
func lgBodies() []attribute.Value {
	var bodies []attribute.Value
	for _, kv := range mtValues() {
		bodies = append(bodies, kv.Value)
	}
	return append(bodies,
		attribute.StringValue(strings.Repeat("a long message ü ", 30)),
		attribute.MapValue(mtValues()[:27]...),
		attribute.SliceValue(attribute.MapValue(attribute.Slice("deep", attribute.MapValue(attribute.String("deeper", "ü"))))),
	)
}

var (
	lgTraceA = trace.TraceID{0xaa, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	lgTraceB = trace.TraceID{0xbb, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0xff}
)

// lgRecords emits log records through three logger providers (a resource
// with every attribute kind and an attribute count limit, an empty resource,
// a small one) and several loggers, interleaved, plus hand-made records with
// no resource or scope at all. Each record carries a "seq" attribute, its
// position in the result.
func lgRecords(t testing.TB, n int) []sdklog.Record {
	t.Helper()
	capt := &lgCapture{}
	providers := []*sdklog.LoggerProvider{
		sdklog.NewLoggerProvider(sdklog.WithProcessor(capt), sdklog.WithAttributeCountLimit(12),
			sdklog.WithResource(resource.NewWithAttributes("https://opentelemetry.io/schemas/1.26.0", mtValues()...))),
		sdklog.NewLoggerProvider(sdklog.WithProcessor(capt), sdklog.WithResource(resource.Empty())),
		sdklog.NewLoggerProvider(sdklog.WithProcessor(capt),
			sdklog.WithResource(resource.NewSchemaless(attribute.String("service.name", "svc-ü")))),
	}
	var loggers []log.Logger
	for _, p := range providers {
		loggers = append(loggers,
			p.Logger("scope/a", log.WithInstrumentationVersion("v1"), log.WithSchemaURL("https://example.com/a"),
				log.WithInstrumentationAttributes(attribute.String("lib", "ü"), attribute.Int64Slice("n", []int64{1, 2}))),
			p.Logger(""), // the zero scope
			p.Logger("scope/b"),
		)
	}
	bodies := lgBodies()
	attrs := mtValues()
	ctxs := []context.Context{
		context.Background(),
		trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: lgTraceA, SpanID: trace.SpanID{1, 2, 3, 4, 5, 6, 7, 8}, TraceFlags: trace.FlagsSampled,
		})),
		trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: lgTraceB, SpanID: trace.SpanID{8, 7, 6, 5, 4, 3, 2, 1},
		})),
	}
	base := time.Unix(1700000000, 5)
	var out []sdklog.Record
	for i := range n {
		var r log.Record
		switch i % 5 {
		case 0:
			r.SetTimestamp(base.Add(time.Duration(i) * time.Millisecond))
			r.SetObservedTimestamp(base.Add(time.Second))
		case 1:
			r.SetTimestamp(time.Unix(-5, 0)) // before the epoch: written as 0
		case 2:
			r.SetObservedTimestamp(base)
		}
		r.SetSeverity(log.Severity(i % 27)) // 25 and 26 are unknown
		if i%3 == 0 {
			r.SetSeverityText([]string{"INFO", "", "wärning"}[i%9/3])
		}
		if i%4 != 3 {
			r.SetBody(bodies[i%len(bodies)])
		}
		if i%6 == 1 {
			r.SetEventName("event.ü")
		}
		r.AddAttributes(attribute.Int("seq", len(out)))
		for j := range i % 7 {
			r.AddAttributes(attrs[(i+j*5)%len(attrs)])
		}
		if i%11 == 0 {
			r.AddAttributes(attrs...) // over the first provider's count limit
		}
		loggers[(i*7)%len(loggers)].Emit(ctxs[i%len(ctxs)], r)
		capt.mu.Lock()
		out = append(out, capt.records...)
		capt.records = nil
		capt.mu.Unlock()
		if i%10 == 9 {
			// A record made by hand: no resource, no scope.
			var z sdklog.Record
			z.SetBody(attribute.StringValue("hand-made"))
			z.SetSeverity(log.SeverityWarn)
			z.SetAttributes(attribute.Int("seq", len(out))) // dropped: a zero Record's count limit is 0
			z.SetEventName(fmt.Sprintf("hand-made %d", len(out)))
			if i%20 == 19 {
				z.SetTraceID(lgTraceA)
				z.SetTraceFlags(trace.FlagsSampled)
			}
			out = append(out, z)
		}
	}
	for _, p := range providers {
		_ = p.Shutdown(context.Background())
	}
	return out
}

// oracleLogs returns the request body otlploghttp sends for records.
func oracleLogs(t testing.TB, records []sdklog.Record, opts ...otlploghttp.Option) []byte {
	t.Helper()
	sink := newOTLPSink(t, false)
	opts = append([]otlploghttp.Option{
		otlploghttp.WithEndpointURL(sink.srv.URL + "/v1/logs"),
		otlploghttp.WithRetry(otlploghttp.RetryConfig{Enabled: false}),
	}, opts...)
	exp, err := otlploghttp.New(context.Background(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = exp.Shutdown(context.Background()) }()
	if err := exp.Export(context.Background(), records); err != nil {
		t.Fatal(err)
	}
	bodies := sink.take()
	if len(bodies) != 1 {
		t.Fatalf("otlploghttp sent %d requests, want 1", len(bodies))
	}
	return bodies[0]
}

// lgCanonical orders the resources of req by their encoding (otlploghttp
// writes them in map order) and, when scopes too is set, the scopes of each
// resource. Log records keep their order.
func lgCanonical(req *collogpb.ExportLogsServiceRequest, scopes bool) {
	key := func(m proto.Message, url string) string {
		b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(m)
		return string(b) + "\x00" + url
	}
	if scopes {
		for _, rl := range req.ResourceLogs {
			slices.SortStableFunc(rl.ScopeLogs, func(a, b *logpb.ScopeLogs) int {
				return strings.Compare(key(a.Scope, a.SchemaUrl), key(b.Scope, b.SchemaUrl))
			})
		}
	}
	slices.SortStableFunc(req.ResourceLogs, func(a, b *logpb.ResourceLogs) int {
		return strings.Compare(key(a.Resource, a.SchemaUrl), key(b.Resource, b.SchemaUrl))
	})
}

// lgCompare asserts that the protobuf request got equals otlploghttp's
// body want once both list resources (and, with scopes, scopes) in the same
// order.
func lgCompare(t *testing.T, got, want []byte, scopes bool) {
	t.Helper()
	var g, w collogpb.ExportLogsServiceRequest
	if err := proto.Unmarshal(want, &w); err != nil {
		t.Fatalf("oracle body does not decode: %v", err)
	}
	if err := proto.Unmarshal(got, &g); err != nil {
		t.Fatalf("our bytes do not decode: %v", err)
	}
	if len(w.ResourceLogs) == 1 && !scopes && !bytes.Equal(got, want) {
		t.Errorf("one resource: bytes differ from otlploghttp's")
	}
	lgCanonical(&g, scopes)
	lgCanonical(&w, scopes)
	if !proto.Equal(&g, &w) {
		t.Fatalf("request differs from otlploghttp's %s", protoDiff(&g, &w))
	}
}

func lgNewEncoder(tb testing.TB, cfg LogConfig) *LogEncoder {
	tb.Helper()
	e, err := NewLogEncoder(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

func TestLogsRequestMatchesOTLPLogHTTP(t *testing.T) {
	all := lgRecords(t, 300)
	e := lgNewEncoder(t, LogConfig{})
	cases := map[string][]sdklog.Record{
		"all":        all,
		"one":        all[:1],
		"hand-made":  all[10:11],
		"empty body": all[3:4],
		"first 40":   all[:40],
	}
	for name, recs := range cases {
		t.Run(name, func(t *testing.T) {
			want := oracleLogs(t, recs)
			got := e.AppendRequest([]byte("x"), recs)
			if got[0] != 'x' {
				t.Fatal("AppendRequest lost the bytes before it")
			}
			lgCompare(t, got[1:], want, false)
		})
	}
	if got := e.AppendRequest(nil, nil); len(got) != 0 {
		t.Fatalf("no records: %x, want nothing", got)
	}
}

func TestLogsRequestGzipOracle(t *testing.T) {
	recs := lgRecords(t, 50)
	want := oracleLogs(t, recs, otlploghttp.WithCompression(otlploghttp.GzipCompression))
	lgCompare(t, lgNewEncoder(t, LogConfig{}).AppendRequest(nil, recs), want, false)
}

func TestLogRecordFieldsCovered(t *testing.T) {
	// The generator must reach every field and body kind the tests claim.
	recs := lgRecords(t, 300)
	var req collogpb.ExportLogsServiceRequest
	if err := proto.Unmarshal(lgNewEncoder(t, LogConfig{}).AppendRequest(nil, recs), &req); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, rl := range req.ResourceLogs {
		if rl.Resource == nil {
			seen["no resource"] = true
		}
		for _, sl := range rl.ScopeLogs {
			if sl.Scope == nil {
				seen["no scope"] = true
			}
			for _, lr := range sl.LogRecords {
				if lr.TimeUnixNano != 0 {
					seen["time"] = true
				}
				if lr.ObservedTimeUnixNano != 0 {
					seen["observed"] = true
				}
				if lr.SeverityNumber != 0 {
					seen["severity"] = true
				}
				if lr.SeverityText != "" {
					seen["severity text"] = true
				}
				if lr.DroppedAttributesCount != 0 {
					seen["dropped"] = true
				}
				if len(lr.TraceId) != 0 {
					seen["trace id"] = true
				}
				if len(lr.SpanId) != 0 {
					seen["span id"] = true
				}
				if lr.Flags != 0 {
					seen["flags"] = true
				}
				if lr.EventName != "" {
					seen["event name"] = true
				}
				if lr.Body.GetValue() == nil {
					seen["empty body"] = true
				} else {
					seen[strings.Split(prototext.Format(lr.Body), ":")[0]] = true
				}
			}
		}
	}
	for _, k := range []string{"no resource", "no scope", "time", "observed", "severity", "severity text", "dropped",
		"trace id", "span id", "flags", "event name", "empty body", "string_value", "bool_value", "int_value",
		"double_value", "bytes_value", "array_value", "kvlist_value"} {
		if !seen[k] {
			t.Errorf("no log record has %s", k)
		}
	}
}

func TestSeverityOf(t *testing.T) {
	for s := log.Severity(-2); s < 30; s++ {
		want := uint64(s)
		if s < 1 || s > 24 {
			want = 0
		}
		if got := severityOf(s); got != want {
			t.Errorf("severityOf(%d) = %d, want %d", s, got, want)
		}
	}
	if math.MaxInt64 > 0 && severityOf(log.Severity(math.MaxInt32)) != 0 {
		t.Error("huge severity not unspecified")
	}
}

var lgHex = regexp.MustCompile(`^[0-9a-f]+$`)

func lgEncodeAll(t *testing.T, e *LogEncoder, recs []sdklog.Record) ([]record, LogResult) {
	t.Helper()
	return encodeRecords(t, e.Encode, e.RecordLogs, recs)
}

// lgSeq returns the "seq" attribute of a decoded log record, or for a
// hand-made one the number in its event name.
func lgSeq(t *testing.T, lr *logpb.LogRecord) int {
	t.Helper()
	for _, kv := range lr.Attributes {
		if kv.Key == "seq" {
			return int(kv.Value.GetIntValue())
		}
	}
	var seq int
	if _, err := fmt.Sscanf(lr.EventName, "hand-made %d", &seq); err != nil {
		t.Fatalf("log record without seq: %v", err)
	}
	return seq
}

// lgResourceKey is the key a TraceEncoder partitioning by resource gives r.
func lgResourceKey(t *testing.T, r *resource.Resource) string {
	t.Helper()
	e := newEncoder(t, TraceConfig{Partitioning: PartitionByResource})
	stub := tracetest.SpanStub{Resource: r, SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: lgTraceA, SpanID: trace.SpanID{1}})}
	var key string
	if _, err := e.Encode([]sdktrace.ReadOnlySpan{stub.Snapshot()}, func(k string, _ []byte) error { key = k; return nil }); err != nil {
		t.Fatal(err)
	}
	return key
}

// checkLogRecords verifies every promise Encode makes for one batch.
func checkLogRecords(t *testing.T, cfg LogConfig, recs []sdklog.Record) {
	t.Helper()
	e := lgNewEncoder(t, cfg)
	cfg = e.Config()
	out, res := lgEncodeAll(t, e, recs)
	out2, _ := lgEncodeAll(t, e, recs) // reused scratch gives the same
	if len(out) != len(out2) {
		t.Fatalf("second run: %d records, first %d", len(out2), len(out))
	}
	single := lgNewEncoder(t, LogConfig{Encoding: cfg.Encoding})
	dropped := map[int]bool{}
	for _, d := range res.Dropped {
		r := &recs[d.Index]
		alone := len(single.AppendRequest(nil, recs[d.Index:d.Index+1]))
		if d.Size != alone || alone <= cfg.MaxRecordSize || d.Limit != cfg.MaxRecordSize || d.TraceID != r.TraceID() || d.SpanID != r.SpanID() {
			t.Fatalf("dropped %+v: alone the log record takes %d bytes, limit %d", d, alone, cfg.MaxRecordSize)
		}
		if !strings.Contains(d.Error(), "log record") {
			t.Fatalf("drop error %q", d.Error())
		}
		dropped[d.Index] = true
	}
	resKeys := map[*resource.Resource]string{}
	seen := map[int]bool{}
	total := 0
	var prev []sdklog.Record
	for i, rec := range out {
		if !bytes.Equal(rec.data, out2[i].data) || rec.key != out2[i].key && cfg.Partitioning != PartitionRandom {
			t.Fatalf("record %d differs between two runs", i)
		}
		if len(rec.data) > cfg.MaxRecordSize {
			t.Fatalf("record %d: %d bytes, over the limit %d", i, len(rec.data), cfg.MaxRecordSize)
		}
		req := lgDecode(t, cfg.Encoding, rec.data)
		var sub []sdklog.Record
		var idx []int
		for _, rl := range req.ResourceLogs {
			for _, sl := range rl.ScopeLogs {
				for _, lr := range sl.LogRecords {
					s := lgSeq(t, lr)
					if seen[s] || dropped[s] {
						t.Fatalf("record %d: log record %d repeated or dropped", i, s)
					}
					seen[s] = true
					idx = append(idx, s)
				}
			}
		}
		slices.Sort(idx)
		for _, s := range idx {
			sub = append(sub, recs[s])
		}
		if rec.n != len(sub) {
			t.Fatalf("record %d: RecordLogs said %d, holds %d", i, rec.n, len(sub))
		}
		total += len(sub)
		// The record equals otlploghttp's request for its log records.
		if cfg.Encoding == Protobuf {
			lgCompare(t, rec.data, oracleLogs(t, sub), true)
		} else {
			pb := lgNewEncoder(t, LogConfig{}).AppendRequest(nil, sub)
			lgCompare(t, pb, oracleLogs(t, sub), true)
			want := lgDecode(t, Protobuf, pb)
			lgCanonical(req, true)
			lgCanonical(want, true)
			if !proto.Equal(req, want) {
				t.Fatalf("JSON record %d decodes differently from the protobuf one", i)
			}
		}
		// Partition promises.
		tid := sub[0].TraceID()
		switch cfg.Partitioning {
		case PartitionByTraceID, PartitionByResource:
			if cfg.Partitioning == PartitionByTraceID && tid.IsValid() {
				for _, r := range sub {
					if r.TraceID() != tid {
						t.Fatalf("record %d mixes traces %s and %s", i, tid, r.TraceID())
					}
				}
				if rec.key != tid.String() {
					t.Fatalf("record %d: key %q, want trace ID %s", i, rec.key, tid)
				}
				break
			}
			for _, r := range sub {
				if cfg.Partitioning == PartitionByTraceID && r.TraceID().IsValid() {
					t.Fatalf("record %d keyed by resource holds a log record of trace %s", i, r.TraceID())
				}
				if !r.Resource().Equal(sub[0].Resource()) {
					t.Fatalf("record %d mixes resources", i)
				}
			}
			r := sub[0].Resource()
			if _, ok := resKeys[r]; !ok {
				resKeys[r] = lgResourceKey(t, r)
			}
			if rec.key != resKeys[r] {
				t.Fatalf("record %d: key %q, a TraceEncoder keys the resource %q", i, rec.key, resKeys[r])
			}
		case PartitionRandom:
			if len(rec.key) != 32 || !lgHex.MatchString(rec.key) {
				t.Fatalf("record %d: key %q is not 32 hex digits", i, rec.key)
			}
		case PartitionByKey:
			for j := range sub {
				if k := cfg.PartitionKey(&sub[j]); k != rec.key {
					t.Fatalf("record %d under key %q holds a log record of key %q", i, rec.key, k)
				}
			}
		}
		// Greedy fill: a record and the next of its partition do not fit in one.
		if i > 0 && out[i-1].key == rec.key && cfg.Partitioning != PartitionRandom {
			both := append(slices.Clone(prev), sub...)
			if n := len(single.AppendRequest(nil, both)); n <= cfg.MaxRecordSize {
				t.Fatalf("records %d and %d would fit in one (%d bytes)", i-1, i, n)
			}
		}
		prev = sub
	}
	if total+len(dropped) != len(recs) || res.LogRecords != total || res.Records != len(out) {
		t.Fatalf("%d log records written, %d dropped, of %d; result %+v", total, len(dropped), len(recs), res)
	}
	t.Logf("%d log records in %d records, %d dropped", total, len(out), len(dropped))
}

// lgDecode decodes a record in encoding enc.
func lgDecode(t *testing.T, enc Encoding, data []byte) *collogpb.ExportLogsServiceRequest {
	t.Helper()
	req := &collogpb.ExportLogsServiceRequest{}
	if enc == JSON {
		if err := unmarshalOTLPJSON(data, req); err != nil {
			t.Fatalf("record does not decode: %v\n%s", err, data)
		}
		return req
	}
	if err := proto.Unmarshal(data, req); err != nil {
		t.Fatalf("record does not decode: %v", err)
	}
	return req
}

func TestLogEncoderRecords(t *testing.T) {
	recs := lgRecords(t, 120)
	byKey := func(r *sdklog.Record) string { return r.SeverityText() + "/" + r.EventName() }
	for _, limit := range []int{0, 20000, 4000, 1500, 500} {
		for _, p := range []Partitioning{PartitionByTraceID, PartitionByResource, PartitionRandom, PartitionByKey} {
			for _, enc := range []Encoding{Protobuf, JSON} {
				cfg := LogConfig{MaxRecordSize: limit, Partitioning: p, Encoding: enc}
				if p == PartitionByKey {
					cfg.PartitionKey = byKey
				}
				t.Run(fmt.Sprintf("%d/%s/%s", limit, p, enc), func(t *testing.T) { checkLogRecords(t, cfg, recs) })
			}
		}
	}
}

func TestLogEncoderEmitError(t *testing.T) {
	recs := lgRecords(t, 60)
	e := lgNewEncoder(t, LogConfig{MaxRecordSize: 3000})
	boom := errors.New("boom")
	calls := 0
	res, err := e.Encode(recs, func(string, []byte) error {
		calls++
		if calls == 3 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "partition key") {
		t.Fatalf("error %v, want one wrapping boom and naming the key", err)
	}
	if res.Records != 2 || calls != 3 || res.LogRecords == 0 {
		t.Fatalf("result %+v after %d calls", res, calls)
	}
}

func TestNewLogEncoderRefuses(t *testing.T) {
	for _, cfg := range []LogConfig{
		{Encoding: "otlp_xml"},
		{MaxRecordSize: -1},
		{Partitioning: 9},
		{Partitioning: PartitionByKey},
	} {
		if _, err := NewLogEncoder(cfg); err == nil || strings.HasPrefix(err.Error(), "otlpwire") {
			t.Errorf("%+v: error %v", cfg, err)
		}
	}
	e := lgNewEncoder(t, LogConfig{})
	if c := e.Config(); c.MaxRecordSize != DefaultMaxRecordSize || c.Partitioning != PartitionByTraceID || c.Encoding != Protobuf {
		t.Errorf("defaults %+v", c)
	}
}

func TestLogsJSONMatchesOTLPLogHTTP(t *testing.T) {
	all := lgRecords(t, 300)
	pb := lgNewEncoder(t, LogConfig{})
	js := lgNewEncoder(t, LogConfig{Encoding: JSON})
	for _, recs := range [][]sdklog.Record{all, all[:1], all[3:4], all[10:11]} {
		// The protobuf request equals otlploghttp's (see above) and lists
		// resources in the same order as the JSON one.
		lgCompare(t, pb.AppendRequest(nil, recs), oracleLogs(t, recs), false)
		checkJSON(t, js.AppendRequest(nil, recs), lgDecode(t, Protobuf, pb.AppendRequest(nil, recs)))
	}
	if got := js.AppendRequest(nil, nil); string(got) != "{}" {
		t.Fatalf("no records: %s", got)
	}
}

func TestLogEncoderAllocations(t *testing.T) {
	recs := benchLogs(t, 256) // scalar attributes: reading them does not allocate
	for _, c := range []struct {
		cfg  LogConfig
		want float64 // per batch: the partition keys of the 8 traces
	}{
		{LogConfig{Partitioning: PartitionByResource}, 0},
		{LogConfig{Partitioning: PartitionByResource, Encoding: JSON}, 0},
		{LogConfig{}, 8},
	} {
		e := lgNewEncoder(t, c.cfg)
		emit := func(string, []byte) error { return nil }
		allocs := testing.AllocsPerRun(20, func() {
			if _, err := e.Encode(recs, emit); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > c.want {
			t.Errorf("%+v: Encode made %v allocations per batch of %d, want at most %v", c.cfg, allocs, len(recs), c.want)
		}
		var buf []byte
		if allocs := testing.AllocsPerRun(20, func() { buf = e.AppendRequest(buf[:0], recs) }); allocs != 0 {
			t.Errorf("%+v: AppendRequest made %v allocations, want 0", c.cfg, allocs)
		}
	}
}

// benchLogs emits n typical request logs through a LoggerProvider: a
// message body, severity and its text, six attributes, timestamps, and for
// half of them the span context they were logged in (8 traces).
func benchLogs(b testing.TB, n int) []sdklog.Record {
	b.Helper()
	capt := &lgCapture{}
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(capt), sdklog.WithResource(benchResource()))
	defer func() { _ = lp.Shutdown(context.Background()) }()
	logger := lp.Logger("github.com/example/checkout/internal/handler", log.WithInstrumentationVersion("1.42.0"))
	start := time.Unix(1700000000, 0)
	methods := []string{"GET", "POST", "PUT", "DELETE"}
	for i := range n {
		ctx := context.Background()
		if i%2 == 0 {
			ctx = trace.ContextWithSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{
				TraceID: trace.TraceID{0x4b, byte(i % 8), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14},
				SpanID:  trace.SpanID{0, byte(i), byte(i >> 8), 3, 4, 5, 6, 7}, TraceFlags: trace.FlagsSampled,
			}))
		}
		var r log.Record
		r.SetTimestamp(start.Add(time.Duration(i) * time.Millisecond))
		r.SetSeverity(log.SeverityInfo)
		r.SetSeverityText("INFO")
		r.SetBody(attribute.StringValue(fmt.Sprintf("%s /api/v1/orders/%d completed with status 200 in %d ms", methods[i%4], 10000+i, i%97)))
		r.AddAttributes(
			attribute.String("http.request.method", methods[i%4]),
			attribute.String("http.route", "/api/v1/orders/{id}"),
			attribute.Int("http.response.status_code", 200),
			attribute.String("user.id", fmt.Sprintf("user-%06d", i*7919%1000000)),
			attribute.Float64("duration_ms", float64(i%97)+0.25),
			attribute.Bool("cache.hit", i%3 == 0),
		)
		logger.Emit(ctx, r)
	}
	return capt.records
}
