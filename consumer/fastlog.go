package consumer

import (
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
)

// logSlabs are an arena's slabs of log messages.
type logSlabs struct {
	logReqs slab[collogspb.ExportLogsServiceRequest]
	rls     slab[logspb.ResourceLogs]
	rlPtrs  slab[*logspb.ResourceLogs]
	sls     slab[logspb.ScopeLogs]
	slPtrs  slab[*logspb.ScopeLogs]
	logs    slab[logspb.LogRecord]
	logPtrs slab[*logspb.LogRecord]
}

func (s *logSlabs) init(all []slabber) []slabber {
	return append(all, s.logReqs.init(perGroup), s.rls.init(perGroup), s.rlPtrs.init(perGroup), s.sls.init(perGroup), s.slPtrs.init(perGroup),
		s.logs.init(perLog), s.logPtrs.init(perLog))
}

// fastUnmarshalLogs decodes an ExportLogsServiceRequest with values from arena a
// (nil: a pooled one), or returns errFallback.
func fastUnmarshalLogs(a *otlpArena, data []byte) (*collogspb.ExportLogsServiceRequest, error) {
	return decodeSignal(a, data, logLevels)
}

func logLevels(a *otlpArena) levels[collogspb.ExportLogsServiceRequest, logspb.ResourceLogs, logspb.ScopeLogs, logspb.LogRecord] {
	return levels[collogspb.ExportLogsServiceRequest, logspb.ResourceLogs, logspb.ScopeLogs, logspb.LogRecord]{
		&a.logReqs, &a.rls, &a.rlPtrs, &a.sls, &a.slPtrs, &a.logs, &a.logPtrs, (*fastDecoder).logRecord,
		func(m *collogspb.ExportLogsServiceRequest) *[]*logspb.ResourceLogs { return &m.ResourceLogs },
		func(g *logspb.ResourceLogs) (**resourcepb.Resource, *[]*logspb.ScopeLogs, *string) {
			return &g.Resource, &g.ScopeLogs, &g.SchemaUrl
		},
		func(s *logspb.ScopeLogs) (**commonpb.InstrumentationScope, *[]*logspb.LogRecord, *string) {
			return &s.Scope, &s.LogRecords, &s.SchemaUrl
		},
	}
}

func (d *fastDecoder) logRecord(lr *logspb.LogRecord, in pbField) bool {
	var attrs []*commonpb.KeyValue // set once the record is done
	ok := d.each(in, func(f pbField, at int) bool {
		ok := true
		switch f.key {
		case 1<<3 | f64:
			lr.TimeUnixNano = f.v
		case 2<<3 | vt:
			lr.SeverityNumber = logspb.SeverityNumber(int32(f.v))
		case 3<<3 | bt:
			ok = d.setString(&lr.SeverityText, f)
		case 5<<3 | bt:
			if lr.Body != nil {
				return false // merged by protobuf
			}
			lr.Body = d.a.anys.one(d.at(at))
			ok = d.anyValue(lr.Body, f.vs, f.ve, 0)
		case 6<<3 | bt:
			ok = d.addKeyValue(&attrs, f, at, in.ve)
		case 7<<3 | vt:
			lr.DroppedAttributesCount = uint32(f.v)
		case 8<<3 | f32:
			lr.Flags = uint32(f.v)
		case 9<<3 | bt:
			lr.TraceId = d.bytes(f)
		case 10<<3 | bt:
			lr.SpanId = d.bytes(f)
		case 11<<3 | f64:
			lr.ObservedTimeUnixNano = f.v
		case 12<<3 | bt:
			ok = d.setString(&lr.EventName, f)
		default:
			return false
		}
		return ok
	})
	lr.Attributes = attrs
	return ok
}
