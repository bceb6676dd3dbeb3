package otlpwire

import (
	"context"
	"encoding/binary"
	"math"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// spanGen makes random spans of every shape from a gen.
type spanGen struct {
	*gen
	resources []*resource.Resource
	scopes    []instrumentation.Scope
	traces    []trace.TraceID
	nextID    uint64
}

func newSpanGen(seed uint64) *spanGen {
	g := &spanGen{gen: newGen(seed)}
	attrs := g.keyValues(8)
	g.resources = []*resource.Resource{
		resource.NewWithAttributes("https://opentelemetry.io/schemas/1.26.0", attribute.String("service.name", "svc"), attribute.Int("n", 1)),
		nil,
		resource.Empty(),
		resource.NewWithAttributes("schema-a", attrs...),
		resource.NewWithAttributes("schema-b", attrs...), // same attributes: groups with the one above
		resource.NewSchemaless(g.keyValues(20)...),
	}
	g.scopes = []instrumentation.Scope{
		{Name: "lib", Version: "1.0.0", SchemaURL: "https://opentelemetry.io/schemas/1.20.0"},
		{},
		{Name: "lib", Version: "2.0.0"},
		{SchemaURL: "schema-only"},
		{Name: g.string(), Attributes: attribute.NewSet(g.keyValues(4)...)},
		{Name: "empty-attrs", Attributes: attribute.NewSet()},
	}
	for range 6 {
		var tid trace.TraceID
		binary.BigEndian.PutUint64(tid[:8], g.r.Uint64())
		binary.BigEndian.PutUint64(tid[8:], g.r.Uint64())
		g.traces = append(g.traces, tid)
	}
	g.traces = append(g.traces, trace.TraceID{}) // an invalid (all-zero) trace ID
	return g
}

// spanID returns a span ID no other span of this generator has, so that
// tests can find spans by ID.
func (g *spanGen) spanID() trace.SpanID {
	g.nextID++
	var id trace.SpanID
	binary.BigEndian.PutUint64(id[:], g.nextID<<16|g.r.Uint64()&0xffff)
	return id
}

func (g *spanGen) time() time.Time {
	switch g.r.IntN(8) {
	case 0:
		return time.Time{}
	case 1:
		return time.Unix(0, 0)
	case 2:
		return time.Unix(-5, 7)
	case 3:
		return time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Unix(1_700_000_000+int64(g.r.IntN(1000)), int64(g.r.IntN(1e9)))
}

func (g *spanGen) count() int {
	switch g.r.IntN(6) {
	case 0:
		return -1
	case 1:
		return math.MaxInt64
	case 2:
		return 1 << 32
	case 3:
		return g.r.IntN(100)
	}
	return 0
}

func (g *spanGen) traceState() trace.TraceState {
	// Values may hold any printable ASCII but ',' and '=': '"' and '\' need escapes in JSON.
	states := []string{"", "", "vendor=value", "a=1,b=2,c=3", "t61rcwkgmze@tenant=x", `q=say "hi",w=back\slash\`}
	ts, err := trace.ParseTraceState(states[g.r.IntN(len(states))])
	if err != nil {
		panic(err)
	}
	return ts
}

func (g *spanGen) spanContext(tid trace.TraceID) trace.SpanContext {
	return trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    tid,
		SpanID:     g.spanID(),
		TraceFlags: trace.TraceFlags(g.r.IntN(256)),
		TraceState: g.traceState(),
		Remote:     g.r.IntN(3) == 0,
	})
}

func (g *spanGen) stub() tracetest.SpanStub {
	tid := g.traces[g.r.IntN(len(g.traces))]
	s := tracetest.SpanStub{
		Name:                 g.string(),
		SpanContext:          g.spanContext(tid),
		SpanKind:             trace.SpanKind(g.r.IntN(8)),
		StartTime:            g.time(),
		EndTime:              g.time(),
		Attributes:           g.keyValues(12),
		DroppedAttributes:    g.count(),
		DroppedEvents:        g.count(),
		DroppedLinks:         g.count(),
		ChildSpanCount:       g.r.IntN(3),
		Resource:             g.resources[g.r.IntN(len(g.resources))],
		InstrumentationScope: g.scopes[g.r.IntN(len(g.scopes))],
	}
	switch g.r.IntN(4) {
	case 0: // root
	case 1:
		s.Parent = trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: g.spanID(), Remote: true})
	case 2:
		s.Parent = trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: g.spanID()})
	case 3: // remote flag without a span ID
		s.Parent = trace.SpanContext{}.WithRemote(true)
	}
	statuses := []codes.Code{codes.Unset, codes.Error, codes.Ok, codes.Code(9)}
	s.Status = sdktrace.Status{Code: statuses[g.r.IntN(len(statuses))]}
	if g.r.IntN(2) == 0 {
		s.Status.Description = g.string()
	}
	for n := g.r.IntN(4); n > 0; n-- {
		s.Events = append(s.Events, sdktrace.Event{
			Name: g.string(), Attributes: g.keyValues(4), DroppedAttributeCount: g.count(), Time: g.time(),
		})
	}
	for n := g.r.IntN(4); n > 0; n-- {
		lt := g.traces[g.r.IntN(len(g.traces))]
		s.Links = append(s.Links, sdktrace.Link{
			SpanContext: g.spanContext(lt), Attributes: g.keyValues(4), DroppedAttributeCount: g.count(),
		})
	}
	return s
}

func (g *spanGen) spans(n int) []sdktrace.ReadOnlySpan {
	stubs := make(tracetest.SpanStubs, n)
	for i := range stubs {
		stubs[i] = g.stub()
	}
	return stubs.Snapshots()
}

// realisticSpans returns n spans like a service's: 10 attributes, one event
// and one link each, one resource, one scope, a few spans per trace.
func realisticSpans(n int) []sdktrace.ReadOnlySpan {
	res := resource.NewWithAttributes("https://opentelemetry.io/schemas/1.26.0",
		attribute.String("service.name", "checkout"), attribute.String("service.version", "1.4.2"),
		attribute.String("telemetry.sdk.language", "go"), attribute.String("telemetry.sdk.name", "opentelemetry"),
		attribute.String("telemetry.sdk.version", "1.47.0"), attribute.String("host.name", "ip-10-0-0-1"))
	scope := instrumentation.Scope{Name: "github.com/example/checkout", Version: "1.4.2"}
	start := time.Unix(1_700_000_000, 0)
	stubs := make(tracetest.SpanStubs, n)
	var tid trace.TraceID
	for i := range stubs {
		if i%8 == 0 {
			binary.BigEndian.PutUint64(tid[:8], uint64(i)*0x9e3779b97f4a7c15+1)
			binary.BigEndian.PutUint64(tid[8:], uint64(i)*0xbf58476d1ce4e5b9+7)
		}
		var sid, psid trace.SpanID
		binary.BigEndian.PutUint64(sid[:], uint64(i)+1)
		binary.BigEndian.PutUint64(psid[:], uint64(i)+1000)
		var ltid trace.TraceID
		binary.BigEndian.PutUint64(ltid[:8], uint64(i)+77)
		stubs[i] = tracetest.SpanStub{
			Name:        "GET /api/v1/orders/{id}",
			SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}),
			Parent:      trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: psid, TraceFlags: trace.FlagsSampled}),
			SpanKind:    trace.SpanKindServer,
			StartTime:   start.Add(time.Duration(i) * time.Millisecond),
			EndTime:     start.Add(time.Duration(i)*time.Millisecond + 3*time.Millisecond),
			Attributes: []attribute.KeyValue{
				attribute.String("http.request.method", "GET"),
				attribute.String("url.path", "/api/v1/orders/12345"),
				attribute.String("url.scheme", "https"),
				attribute.Int("http.response.status_code", 200),
				attribute.String("server.address", "checkout.internal"),
				attribute.Int("server.port", 8443),
				attribute.String("client.address", "10.1.2.3"),
				attribute.String("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64)"),
				attribute.String("network.protocol.version", "1.1"),
				attribute.Bool("cache.hit", i%2 == 0),
			},
			Events: []sdktrace.Event{{
				Name: "order.loaded", Time: start.Add(time.Duration(i)*time.Millisecond + time.Millisecond),
				Attributes: []attribute.KeyValue{attribute.Int("order.items", 3), attribute.String("order.id", "12345")},
			}},
			Links: []sdktrace.Link{{
				SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: ltid, SpanID: psid, TraceFlags: trace.FlagsSampled, Remote: true}),
				Attributes:  []attribute.KeyValue{attribute.String("messaging.operation", "process")},
			}},
			Status:               sdktrace.Status{Code: codes.Ok},
			Resource:             res,
			InstrumentationScope: scope,
		}
	}
	return stubs.Snapshots()
}

// captureClient is an otlptrace.Client that keeps what it is asked to
// upload: the output of otlptrace's transform, our oracle.
type captureClient struct{ got []*tracepb.ResourceSpans }

func (c *captureClient) Start(context.Context) error { return nil }
func (c *captureClient) Stop(context.Context) error  { return nil }
func (c *captureClient) UploadTraces(_ context.Context, rs []*tracepb.ResourceSpans) error {
	c.got = rs
	return nil
}

// oracle returns otlptrace's ResourceSpans for spans, ordered by each
// resource's first span in spans (otlptrace leaves that order to map
// iteration), with each link's trace state filled in from the SDK's link
// (see withLinkTraceStates).
func oracle(tb testing.TB, spans []sdktrace.ReadOnlySpan) []*tracepb.ResourceSpans {
	tb.Helper()
	c := &captureClient{}
	exp, err := otlptrace.New(context.Background(), c)
	if err != nil {
		tb.Fatal(err)
	}
	if err := exp.ExportSpans(context.Background(), spans); err != nil {
		tb.Fatal(err)
	}
	first := make(map[[8]byte]int, len(spans))
	for i, s := range spans {
		if s != nil {
			first[s.SpanContext().SpanID()] = i
		}
	}
	firstOf := func(rs *tracepb.ResourceSpans) int {
		m := math.MaxInt
		for _, ss := range rs.ScopeSpans {
			for _, sp := range ss.Spans {
				m = min(m, first[[8]byte(sp.SpanId)])
			}
		}
		return m
	}
	got := c.got
	slices.SortFunc(got, func(a, b *tracepb.ResourceSpans) int { return firstOf(a) - firstOf(b) })
	withLinkTraceStates(tb, got, spans)
	return got
}

// withLinkTraceStates sets Span.Link.trace_state in rss from the SDK spans they were
// made of, found by trace and span ID: otlptrace leaves that field out, which OTLP
// defines and the encoders here write. The rest of each link stays otlptrace's.
func withLinkTraceStates(tb testing.TB, rss []*tracepb.ResourceSpans, spans []sdktrace.ReadOnlySpan) {
	tb.Helper()
	byID := make(map[[24]byte]sdktrace.ReadOnlySpan, len(spans))
	key := func(tid, sid []byte) (k [24]byte) {
		copy(k[:16], tid)
		copy(k[16:], sid)
		return k
	}
	for _, s := range spans {
		if s != nil && len(s.Links()) > 0 {
			sc := s.SpanContext()
			tid, sid := sc.TraceID(), sc.SpanID()
			byID[key(tid[:], sid[:])] = s
		}
	}
	for _, rs := range rss {
		for _, ss := range rs.ScopeSpans {
			for _, sp := range ss.Spans {
				if len(sp.Links) == 0 {
					continue
				}
				s := byID[key(sp.TraceId, sp.SpanId)]
				if s == nil || len(s.Links()) != len(sp.Links) {
					tb.Fatalf("span %x: otlptrace wrote %d links, which no span given has", sp.SpanId, len(sp.Links))
				}
				for i, l := range s.Links() {
					sp.Links[i].TraceState = l.SpanContext.TraceState().String()
				}
			}
		}
	}
}

// sanitizeStrings replaces invalid UTF-8 in every string field of m as our
// writers do, so that an oracle message holding invalid strings can be
// compared with what we write.
func sanitizeStrings(m protoreflect.Message) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				if fd.Kind() == protoreflect.MessageKind {
					sanitizeStrings(l.Get(i).Message())
				} else if fd.Kind() == protoreflect.StringKind {
					l.Set(i, protoreflect.ValueOfString(refString(l.Get(i).String())))
				}
			}
		case fd.Kind() == protoreflect.MessageKind:
			sanitizeStrings(v.Message())
		case fd.Kind() == protoreflect.StringKind:
			m.Set(fd, protoreflect.ValueOfString(refString(v.String())))
		}
		return true
	})
}
