package otlpwire

import (
	"context"
	"fmt"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.opentelemetry.io/otel/trace"
	collogpb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	"google.golang.org/protobuf/proto"
)

// lgRandom emits random log records (every field, bodies and attributes of
// every kind from the shared generator) through two logger providers with
// random resources and attribute count limits, and returns them. Each
// carries a "seq" attribute, its position.
func lgRandom(t testing.TB, g *gen) []sdklog.Record {
	t.Helper()
	capt := &lgCapture{}
	var loggers []log.Logger
	for range 2 {
		var res *resource.Resource
		switch g.r.IntN(3) {
		case 0:
			res = resource.Empty()
		case 1:
			// Not empty: otlploghttp (and Encode) give a group of resources
			// with equal attributes the schema URL of the first one in the
			// batch, and the oracle of a record sees only its part.
			res = resource.NewWithAttributes(g.string(), append(g.keyValues(5), attribute.Bool("r", true))...)
		default:
			res = resource.NewSchemaless(attribute.String("service.name", g.string()))
		}
		lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(capt), sdklog.WithResource(res),
			sdklog.WithAttributeCountLimit(1+g.r.IntN(12)))
		defer func() { _ = lp.Shutdown(context.Background()) }()
		for range 2 {
			loggers = append(loggers, lp.Logger(g.string(), log.WithInstrumentationVersion(g.string()),
				log.WithSchemaURL(g.string()), log.WithInstrumentationAttributes(g.keyValues(2)...)))
		}
	}
	traces := []trace.TraceID{{}, {1, 2, 3}, {0xff, 0xee, 15: 1}}
	var out []sdklog.Record
	for i := range g.r.IntN(40) {
		var r log.Record
		r.SetTimestamp(mtRandomTime(g))
		r.SetObservedTimestamp(mtRandomTime(g))
		r.SetSeverity(log.Severity(g.r.IntN(30) - 2))
		r.SetSeverityText(g.string())
		if g.r.IntN(5) > 0 {
			r.SetBody(g.value(0))
		}
		if g.r.IntN(3) == 0 {
			r.SetEventName(g.string())
		}
		r.AddAttributes(attribute.Int("seq", i))
		r.AddAttributes(g.keyValues(8)...)
		ctx := context.Background()
		if tid := traces[g.r.IntN(3)]; tid.IsValid() {
			var sid trace.SpanID
			if g.r.IntN(4) > 0 {
				sid = trace.SpanID{byte(i), 1}
			}
			ctx = trace.ContextWithSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{
				TraceID: tid, SpanID: sid, TraceFlags: trace.TraceFlags(g.r.IntN(256)),
			}))
		}
		loggers[g.r.IntN(len(loggers))].Emit(ctx, r)
	}
	capt.mu.Lock()
	defer capt.mu.Unlock()
	return append(out, capt.records...)
}

// TestLogsRandom checks random log records: valid UTF-8 ones against
// otlploghttp, whole and split into records of random limits; the others
// for decoding (with every invalid byte repaired).
func TestLogsRandom(t *testing.T) {
	e := lgNewEncoder(t, LogConfig{})
	for seed := range propertyCases(200) {
		g := newGen(seed)
		g.invalidUTF8 = seed%4 == 3
		g.huge = seed%40 == 0
		recs := lgRandom(t, g)
		got := e.AppendRequest(nil, recs)
		var req collogpb.ExportLogsServiceRequest
		if err := proto.Unmarshal(got, &req); err != nil {
			t.Fatalf("seed %d: our bytes do not decode: %v", seed, err)
		}
		if g.invalidUTF8 || len(recs) == 0 {
			continue
		}
		lgCompare(t, got, oracleLogs(t, recs), false)
		if seed%10 == 0 {
			enc := []Encoding{Protobuf, JSON}[seed/10%2]
			limit := []int{400, 1500, 6000}[g.r.IntN(3)]
			t.Run(fmt.Sprintf("seed %d records %s %d", seed, enc, limit), func(t *testing.T) {
				checkLogRecords(t, LogConfig{Encoding: enc, MaxRecordSize: limit}, recs)
			})
		}
	}
}
