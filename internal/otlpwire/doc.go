// Package otlpwire writes OTLP wire bytes (protobuf, and later the OTLP/JSON
// mapping) straight from OpenTelemetry Go SDK types, without building the
// intermediate go.opentelemetry.io/proto/otlp messages that otlptrace's
// transform and proto.Marshal go through.
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
// again a size pass. Record splitting (see the trace encoder) needs exact
// sizes of whole spans before it picks record boundaries; it gets them by
// encoding each span once into a reused scratch buffer, then copying the
// bytes of the spans that go into each record after headers whose sizes are
// then known. The copy costs far less than a second walk over the span.
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
// [AppendAnyValue]) and the scalar field writers ([AppendStringField],
// [AppendVarintField], [AppendFixed64Field], [AppendDoubleField], ...) follow
// proto3 rules: fields without explicit presence are left out when they hold
// their default, the ...Always variants write oneof members and optional
// fields regardless. Export*ServiceRequest, Resource* and Scope* messages
// number their fields alike for traces, metrics and logs; the Field*
// constants name those numbers.
//
// Nothing here is safe for concurrent use on one buffer; the functions keep
// no state.
package otlpwire
