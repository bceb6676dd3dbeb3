package main

import (
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/internal/plural"
)

// renderText writes one decoded user record as readable lines: a header per resource
// naming the shard, signal and service, then a span tree per trace, a line per metric
// data point, or a line per log record. Every header starts with "[shard]".
func renderText(w io.Writer, r consumer.Record) {
	t := r.Telemetry
	switch {
	case t.Traces != nil:
		for _, rs := range t.Traces.ResourceSpans {
			var spans []*tracepb.Span
			for _, ss := range rs.ScopeSpans {
				spans = append(spans, ss.Spans...)
			}
			fmt.Fprintf(w, "[%s] traces from %s: %s\n", r.Shard, service(rs.Resource), plural.Count(len(spans), "span"))
			renderTraces(w, spans)
		}
	case t.Metrics != nil:
		for _, rm := range t.Metrics.ResourceMetrics {
			n := 0
			for _, sm := range rm.ScopeMetrics {
				n += len(sm.Metrics)
			}
			fmt.Fprintf(w, "[%s] metrics from %s: %s\n", r.Shard, service(rm.Resource), plural.Count(n, "metric"))
			for _, sm := range rm.ScopeMetrics {
				for _, m := range sm.Metrics {
					renderMetric(w, m)
				}
			}
		}
	case t.Logs != nil:
		for _, rl := range t.Logs.ResourceLogs {
			n := 0
			for _, sl := range rl.ScopeLogs {
				n += len(sl.LogRecords)
			}
			fmt.Fprintf(w, "[%s] logs from %s: %s\n", r.Shard, service(rl.Resource), plural.Count(n, "record"))
			for _, sl := range rl.ScopeLogs {
				for _, lr := range sl.LogRecords {
					renderLog(w, lr)
				}
			}
		}
	}
}

// service names a resource by service.name, or "unknown service".
func service(r *resourcepb.Resource) string {
	for _, kv := range r.GetAttributes() {
		if kv.Key == "service.name" {
			return anyValue(kv.Value)
		}
	}
	return "unknown service"
}

func stamp(ns uint64) string {
	if ns == 0 {
		return "-"
	}
	return time.Unix(0, int64(ns)).UTC().Format("2006-01-02T15:04:05.000Z")
}

// renderTraces prints spans grouped by trace, each trace as a tree: children under their
// parent, ordered by start time; spans whose parent is not in the record are roots.
func renderTraces(w io.Writer, spans []*tracepb.Span) {
	var traceOrder []string
	byTrace := map[string][]*tracepb.Span{}
	for _, s := range spans {
		id := string(s.TraceId)
		if _, ok := byTrace[id]; !ok {
			traceOrder = append(traceOrder, id)
		}
		byTrace[id] = append(byTrace[id], s)
	}
	for _, id := range traceOrder {
		ts := byTrace[id]
		fmt.Fprintf(w, "  trace %s\n", hex.EncodeToString([]byte(id)))
		present := map[string]bool{}
		for _, s := range ts {
			present[string(s.SpanId)] = true
		}
		children := map[string][]*tracepb.Span{}
		var roots []*tracepb.Span
		for _, s := range ts {
			if p := string(s.ParentSpanId); p != "" && present[p] && p != string(s.SpanId) {
				children[p] = append(children[p], s)
			} else {
				roots = append(roots, s)
			}
		}
		byStart := func(l []*tracepb.Span) {
			sort.SliceStable(l, func(i, j int) bool { return l[i].StartTimeUnixNano < l[j].StartTimeUnixNano })
		}
		byStart(roots)
		seen := map[*tracepb.Span]bool{}
		var walk func(s *tracepb.Span, depth int)
		walk = func(s *tracepb.Span, depth int) {
			if seen[s] {
				return
			}
			seen[s] = true
			renderSpan(w, s, depth)
			kids := children[string(s.SpanId)]
			byStart(kids)
			for _, k := range kids {
				walk(k, depth+1)
			}
		}
		for _, s := range roots {
			walk(s, 0)
		}
		for _, s := range ts { // spans in a parent cycle: still shown
			if !seen[s] {
				walk(s, 0)
			}
		}
	}
}

func renderSpan(w io.Writer, s *tracepb.Span, depth int) {
	var b strings.Builder
	b.WriteString("    ")
	b.WriteString(strings.Repeat("  ", depth))
	b.WriteString(stamp(s.StartTimeUnixNano))
	d := time.Duration(0)
	if s.EndTimeUnixNano >= s.StartTimeUnixNano {
		d = time.Duration(s.EndTimeUnixNano - s.StartTimeUnixNano)
	}
	fmt.Fprintf(&b, " %8s %-8s %s", d, strings.TrimPrefix(s.Kind.String(), "SPAN_KIND_"), s.Name)
	if len(s.Attributes) > 0 {
		b.WriteString(" ")
		b.WriteString(attrs(s.Attributes))
	}
	if s.Status.GetCode() == tracepb.Status_STATUS_CODE_ERROR {
		b.WriteString(" ERROR")
		if s.Status.Message != "" {
			b.WriteString(": ")
			b.WriteString(s.Status.Message)
		}
	}
	if n := len(s.Events); n > 0 {
		fmt.Fprintf(&b, " (%s)", plural.Count(n, "event"))
	}
	if n := len(s.Links); n > 0 {
		fmt.Fprintf(&b, " (%s)", plural.Count(n, "link"))
	}
	b.WriteString("\n")
	io.WriteString(w, b.String())
}

func renderMetric(w io.Writer, m *metricspb.Metric) {
	name := m.Name
	if m.Unit != "" {
		name += " [" + m.Unit + "]"
	}
	temporality := func(t metricspb.AggregationTemporality) string {
		switch t {
		case metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA:
			return "delta"
		case metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE:
			return "cumulative"
		}
		return "unspecified"
	}
	number := func(p *metricspb.NumberDataPoint) string {
		switch v := p.Value.(type) {
		case *metricspb.NumberDataPoint_AsInt:
			return strconv.FormatInt(v.AsInt, 10)
		case *metricspb.NumberDataPoint_AsDouble:
			return strconv.FormatFloat(v.AsDouble, 'g', -1, 64)
		}
		return "-"
	}
	line := func(ts uint64, kind, value string, a []*commonpb.KeyValue) {
		s := fmt.Sprintf("    %s %s %s: %s", stamp(ts), name, kind, value)
		if len(a) > 0 {
			s += " " + attrs(a)
		}
		io.WriteString(w, s+"\n")
	}
	switch d := m.Data.(type) {
	case *metricspb.Metric_Gauge:
		for _, p := range d.Gauge.DataPoints {
			line(p.TimeUnixNano, "gauge", number(p), p.Attributes)
		}
	case *metricspb.Metric_Sum:
		kind := "sum " + temporality(d.Sum.AggregationTemporality)
		if d.Sum.IsMonotonic {
			kind += " monotonic"
		}
		for _, p := range d.Sum.DataPoints {
			line(p.TimeUnixNano, kind, number(p), p.Attributes)
		}
	case *metricspb.Metric_Histogram:
		for _, p := range d.Histogram.DataPoints {
			v := fmt.Sprintf("count=%d", p.Count)
			if p.Sum != nil {
				v += " sum=" + strconv.FormatFloat(*p.Sum, 'g', -1, 64)
			}
			var buckets []string
			for i, c := range p.BucketCounts {
				bound := "+Inf"
				if i < len(p.ExplicitBounds) {
					bound = strconv.FormatFloat(p.ExplicitBounds[i], 'g', -1, 64)
				}
				buckets = append(buckets, fmt.Sprintf("le %s: %d", bound, c))
			}
			if len(buckets) > 0 {
				v += " (" + strings.Join(buckets, ", ") + ")"
			}
			line(p.TimeUnixNano, "histogram "+temporality(d.Histogram.AggregationTemporality), v, p.Attributes)
		}
	case *metricspb.Metric_ExponentialHistogram:
		for _, p := range d.ExponentialHistogram.DataPoints {
			v := fmt.Sprintf("count=%d scale=%d zero=%d", p.Count, p.Scale, p.ZeroCount)
			if p.Sum != nil {
				v += " sum=" + strconv.FormatFloat(*p.Sum, 'g', -1, 64)
			}
			line(p.TimeUnixNano, "exponential histogram "+temporality(d.ExponentialHistogram.AggregationTemporality), v, p.Attributes)
		}
	case *metricspb.Metric_Summary:
		for _, p := range d.Summary.DataPoints {
			v := fmt.Sprintf("count=%d sum=%s", p.Count, strconv.FormatFloat(p.Sum, 'g', -1, 64))
			for _, q := range p.QuantileValues {
				v += fmt.Sprintf(" p%s=%s", strconv.FormatFloat(q.Quantile*100, 'g', -1, 64), strconv.FormatFloat(q.Value, 'g', -1, 64))
			}
			line(p.TimeUnixNano, "summary", v, p.Attributes)
		}
	default:
		line(0, "no data", "-", nil)
	}
}

func renderLog(w io.Writer, lr *logspb.LogRecord) {
	ts := lr.TimeUnixNano
	if ts == 0 {
		ts = lr.ObservedTimeUnixNano
	}
	sev := lr.SeverityText
	if sev == "" && lr.SeverityNumber != 0 {
		sev = strings.TrimPrefix(lr.SeverityNumber.String(), "SEVERITY_NUMBER_")
	}
	if sev == "" {
		sev = "-"
	}
	s := fmt.Sprintf("    %s %-5s %s", stamp(ts), sev, anyValue(lr.Body))
	if len(lr.Attributes) > 0 {
		s += " " + attrs(lr.Attributes)
	}
	if len(lr.TraceId) > 0 {
		s += " trace=" + hex.EncodeToString(lr.TraceId)
	}
	if len(lr.SpanId) > 0 {
		s += " span=" + hex.EncodeToString(lr.SpanId)
	}
	io.WriteString(w, s+"\n")
}

// attrs writes attributes as {k=v k=v}.
func attrs(kvs []*commonpb.KeyValue) string {
	parts := make([]string, len(kvs))
	for i, kv := range kvs {
		parts[i] = kv.Key + "=" + anyValue(kv.Value)
	}
	return "{" + strings.Join(parts, " ") + "}"
}

func anyValue(v *commonpb.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_BoolValue:
		return strconv.FormatBool(x.BoolValue)
	case *commonpb.AnyValue_IntValue:
		return strconv.FormatInt(x.IntValue, 10)
	case *commonpb.AnyValue_DoubleValue:
		return strconv.FormatFloat(x.DoubleValue, 'g', -1, 64)
	case *commonpb.AnyValue_BytesValue:
		return "0x" + hex.EncodeToString(x.BytesValue)
	case *commonpb.AnyValue_ArrayValue:
		parts := make([]string, len(x.ArrayValue.GetValues()))
		for i, e := range x.ArrayValue.GetValues() {
			parts[i] = anyValue(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case *commonpb.AnyValue_KvlistValue:
		return attrs(x.KvlistValue.GetValues())
	}
	return ""
}
