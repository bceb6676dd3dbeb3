// Package otlpwire writes OTLP wire bytes, protobuf and the OTLP/JSON
// mapping, straight from OpenTelemetry Go SDK types, without building the
// intermediate go.opentelemetry.io/proto/otlp messages that otlptrace's
// transform and proto.Marshal go through. It also splits a batch into
// self-contained export requests that fit a record size limit, partitioned
// for Kinesis (by trace ID, resource, random, a caller's key, or the traces
// bound for one shard together).
//
// # Traces
//
// [TraceEncoder] is the entry point for the trace exporter:
//
//	enc, err := otlpwire.NewTraceEncoder(otlpwire.TraceConfig{
//		Encoding:      otlpwire.Protobuf,     // or otlpwire.JSON
//		MaxRecordSize: limit,                 // default 1 MiB
//		Partitioning:  otlpwire.PartitionByTraceID,
//	})
//	res, err := enc.Encode(spans, func(partitionKey string, data []byte) error {
//		// data is one ExportTraceServiceRequest; copy it, it is reused.
//	})
//	// res.Dropped lists spans too large for any record.
//
// Encode groups spans by partition, then resource, then scope, and fills
// records greedily in batch order, so all the spans of one trace from one
// export share a record whenever they fit in one. [TraceEncoder.AppendRequest]
// writes a whole batch as one request, with no limit. Both write exactly what
// otlptrace's transform followed by proto.Marshal (or protojson with enum
// numbers and hex IDs) would, plus one field otlptrace leaves out: each
// link's trace state (Span.Link trace_state, "traceState" in JSON), when not
// empty. The tests compare byte for byte with that oracle, reached through
// otlptrace.New with a capturing client, the links' trace states set from
// the SDK's links.
//
// # How sizes are known
//
// Protobuf puts the length of every embedded message before its body. The
// writers here append forward into a caller's []byte and learn lengths in
// one of two ways:
//
//   - Where the size is cheap and exact up front (a KeyValue holding a
//     string, int, bool or double; an array of scalars), it is computed and
//     written first, then the body.
//   - Elsewhere, [OpenLen] reserves one length byte, the body is appended, and
//     [CloseLen] writes the real length, moving the body right by the few
//     bytes a length of 128 or more needs. Most nested messages (key-values,
//     events, links, statuses) are shorter than 128 bytes, so the move is
//     rare and small.
//
// There is no separate size pass: a size pass walks every span twice,
// through its interface methods, and would check every string's UTF-8 twice;
// writing backwards into a sized buffer needs the total size first, which is
// again a size pass. Record splitting needs exact sizes of whole spans before
// it picks record boundaries; it gets them by encoding each span once into a
// reused scratch buffer, then copying the bytes of the spans that go into
// each record after container headers whose sizes are then known. The copy
// costs far less than a second walk over the span, and the same scheme serves
// JSON, where sizes cannot be known without writing.
//
// # Strings
//
// Proto3 strings must be valid UTF-8 and decoders refuse the whole message
// otherwise (proto.Marshal refuses to write it, which makes otlptrace fail a
// whole export). Every string writer here checks its input once and, when it
// is not valid, writes each invalid byte as U+FFFD (string([]rune(s))), so one
// bad attribute never costs a record. Bytes values are written unchanged.
//
// # Common pieces for all signals
//
// Resource, scope and attribute writers ([AppendResourceField],
// [AppendScopeField], [AppendKeyValues], [AppendAttributeSet],
// [AppendAnyValue], and the JSON forms [AppendJSONResourceMember],
// [AppendJSONScopeMember], [AppendJSONKeyValues], [AppendJSONAttributeSet],
// [AppendJSONAnyValue]) and the scalar field writers ([AppendStringField],
// [AppendVarintField], [AppendFixed64Field], [AppendDoubleField], ...) follow
// proto3 rules: fields without explicit presence are left out when they hold
// their default, the ...Always variants write oneof members and optional
// fields regardless. Export*ServiceRequest, Resource* and Scope* messages
// number their fields alike for traces, metrics and logs; the Field*
// constants name those numbers. The record builder (grouping, packing,
// splitting) is shared with the metric and log encoders of this package.
//
// Slice-valued attributes allocate when read (attribute.Value offers no
// other access); everything else here writes without allocating once the
// encoder's scratch has grown to the batch size. The scratch is kept: an
// encoder that once saw a huge batch keeps that much memory.
//
// # Speed
//
// Realistic spans (10 attributes, 1 event, 1 link; 512 per batch), on a
// shared 2-core machine, side by side in one run:
//
//	go test -run '^$' -bench BenchmarkTraces -count=10 ./internal/otlpwire/ > bench.txt
//	go run golang.org/x/perf/cmd/benchstat@latest bench.txt
//
// gave (medians of 10 runs ± 95% confidence; cpu is the process's CPU time
// per span, garbage collection included, which moves less than wall time
// with the load of other processes; the load average was 9 to 14 on 2 cores):
//
//	                                  cpu/span        wall/span      allocs/span  B/span
//	otlptrace transform+proto.Marshal 7.41µs ± 9%     9.67µs ± 17%   53.1         552
//	AppendRequest (protobuf)          0.77µs ± 10%    1.21µs ± 45%   0            552
//	Encode, by trace ID (protobuf)    0.95µs ± 9%     2.28µs ± 29%   0.125        587
//	Encode, random (protobuf)         0.82µs ± 5%     1.99µs ± 41%   0.002        552
//	otlptrace transform+protojson     31.6µs ± 5%     50.2µs ± 26%   263          1276
//	Encode, by trace ID (JSON)        1.40µs ± 6%     3.56µs ± 30%   0.125        1333
//
// The direct encoder takes a tenth of the CPU of the transform and marshal it
// replaces, a twentieth for JSON. On a quiet machine of this kind, where the
// transform and marshal take about 4µs per span, that puts it near 0.4µs.
// Encode's 0.125 allocations per span are the partition key of each 8-span
// trace; B/span by trace ID includes the resource and scope repeated in each
// record.
//
// Nothing here is safe for concurrent use: use one encoder per goroutine.
// The Append functions keep no state.
package otlpwire
