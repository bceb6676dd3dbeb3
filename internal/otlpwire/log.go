package otlpwire

import (
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
)

// Field numbers of opentelemetry.proto.logs.v1.LogRecord.
const (
	logTime           = 1
	logSeverityNumber = 2
	logSeverityText   = 3
	logBody           = 5
	logAttributes     = 6
	logDroppedAttrs   = 7
	logFlags          = 8
	logTraceID        = 9
	logSpanID         = 10
	logObservedTime   = 11
	logEventName      = 12
)

// severityOf maps an SDK severity onto the OTLP SeverityNumber enum: the
// numbers agree for the 24 defined severities; anything else is
// SEVERITY_NUMBER_UNSPECIFIED, as otlploghttp writes it.
func severityOf(s log.Severity) uint64 {
	if s >= log.SeverityTrace1 && s <= log.SeverityFatal4 {
		return uint64(s)
	}
	return 0
}

// AppendLogRecord appends the body of the OTLP LogRecord message for r,
// with every field otlploghttp's transform sets, in field-number order (so
// the bytes equal proto.Marshal's for the same message): timestamp,
// severity number and text, body (always present, an empty AnyValue for an
// empty body), attributes in r's order, dropped attribute count, trace
// flags, trace and span ID (when valid), observed timestamp and event name.
func AppendLogRecord(b []byte, r *sdklog.Record) []byte {
	b = AppendFixed64Field(b, logTime, unixNano(r.Timestamp()))
	b = AppendVarintField(b, logSeverityNumber, severityOf(r.Severity()))
	b = AppendStringField(b, logSeverityText, r.SeverityText())
	if body := r.Body(); body.Type() == attribute.STRING {
		b = appendStringAnyValueField(b, logBody, body.AsString())
	} else {
		var m int
		b, m = OpenLen(b, logBody)
		b = AppendAnyValue(b, body)
		b = CloseLen(b, m)
	}
	r.WalkAttributes(func(kv attribute.KeyValue) bool {
		b = appendKeyValueField(b, logAttributes, &kv)
		return true
	})
	b = AppendVarintField(b, logDroppedAttrs, clampCount(r.DroppedAttributes()))
	b = AppendFixed32Field(b, logFlags, uint32(r.TraceFlags()))
	if tid := r.TraceID(); tid.IsValid() {
		b = append(b, logTraceID<<3|wireBytes, 16)
		b = append(b, tid[:]...)
	}
	if sid := r.SpanID(); sid.IsValid() {
		b = append(b, logSpanID<<3|wireBytes, 8)
		b = append(b, sid[:]...)
	}
	b = AppendFixed64Field(b, logObservedTime, unixNano(r.ObservedTimestamp()))
	return AppendStringField(b, logEventName, r.EventName())
}

// AppendLogRecordJSON appends the OTLP/JSON LogRecord object for r: the
// same fields as [AppendLogRecord], with lowercase hex IDs, an integer
// severity number and decimal-string timestamps, default values left out.
func AppendLogRecordJSON(b []byte, r *sdklog.Record) []byte {
	b = append(b, '{')
	b = AppendJSONUint64Member(b, "timeUnixNano", unixNano(r.Timestamp()))
	b = AppendJSONUint64Member(b, "observedTimeUnixNano", unixNano(r.ObservedTimestamp()))
	b = AppendJSONUintMember(b, "severityNumber", severityOf(r.Severity()))
	b = AppendJSONStringMember(b, "severityText", r.SeverityText())
	b = AppendJSONAnyValue(appendJSONName(b, "body"), r.Body())
	if r.AttributesLen() > 0 {
		b = append(appendJSONName(b, "attributes"), '[')
		first := true
		r.WalkAttributes(func(kv attribute.KeyValue) bool {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendJSONKeyValue(b, &kv)
			return true
		})
		b = append(b, ']')
	}
	b = AppendJSONUintMember(b, "droppedAttributesCount", clampCount(r.DroppedAttributes()))
	b = AppendJSONUintMember(b, "flags", uint64(r.TraceFlags()))
	if tid := r.TraceID(); tid.IsValid() {
		b = AppendJSONHexMember(b, "traceId", tid[:])
	}
	if sid := r.SpanID(); sid.IsValid() {
		b = AppendJSONHexMember(b, "spanId", sid[:])
	}
	b = AppendJSONStringMember(b, "eventName", r.EventName())
	return append(b, '}')
}
