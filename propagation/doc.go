// Package propagation carries OpenTelemetry trace context across Amazon
// Kinesis, from the producer of a record to its consumers, without changing
// the shard a record goes to or the data a consumer gets.
//
// Kinesis records have no headers, so context has to travel in the partition
// key, the data, or (for the user records of a KPL aggregated record) the tags.
// Each place has a cost, so the package offers four formats and says what each
// one costs. The carriers implement propagation.TextMapCarrier of
// go.opentelemetry.io/otel, so any propagator works through them: W3C trace
// context, baggage, a composite, X-Ray.
//
// # Formats
//
// FormatKey (KeyCarrier, WrapKey, UnwrapKey) puts the W3C traceparent in front
// of the business key in the partition key and sets ExplicitHashKey to the
// business key's hash key, so the record lands on exactly the shard the
// business key maps to, before and after resharding:
//
//	PartitionKey    tp~00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01~order-17
//	ExplicitHashKey the decimal MD5 hash key of "order-17"
//
// The consumer takes the business key back out. Costs: every consumer must
// unwrap the key (readers never see ExplicitHashKey); the literal key differs
// per record, which breaks per-key ordering for a Lambda function with a
// ParallelizationFactor above 1 (ordering per shard is kept); only the
// traceparent fits, so tracestate and baggage are dropped (and named on the
// producer span); the business key can be at most 197 characters (256 minus 59
// of wrapping). The rules for what does not fit:
//   - a business key too long to wrap, or a propagator that sets no W3C
//     traceparent (X-Ray): the record goes with its key unchanged, or in the
//     fallback format (WithFallback); the error wraps ErrKeyTooLong or
//     ErrNoTraceparent;
//   - tracestate or baggage: the key carries the traceparent alone, or the
//     fallback format carries everything;
//   - an ExplicitHashKey the caller set is kept: it already decides the shard.
//
// FormatEnvelope (AppendEnvelope, OpenEnvelope) wraps the data in a small
// binary frame holding any number of headers; partition key and hash key are
// untouched. Cost: every consumer must unwrap it. The frame (integers
// big-endian):
//
//	offset  size  field
//	0       4     magic           FE 4F 54 4B  ("\xFEOTK")
//	4       1     version         01
//	5       1     header count    N, 0 to 64
//	6       2     header bytes    H, 0 to 16384: the length of the header block
//	8       4     payload bytes   P: the length of the payload
//	12      4     checksum        CRC-32C (Castagnoli) of bytes 0 to 11, then of the header block
//	16      H     header block    N headers, each: key length (1 byte, 1 to 255), key,
//	                              value length (2 bytes), value
//	16+H    P     payload         the original data, byte for byte
//
// A record is taken for an envelope only if it has the magic, version 1, is
// exactly 16+H+P bytes long, holds exactly N well-formed headers and the
// checksum matches: arbitrary data passes that by chance with a probability
// below 2^-64. The magic's first byte, FE, starts no UTF-8 text or JSON, no
// valid protobuf message (wire type 6), no KPL aggregated record (F3 89 9A C2),
// gzip or zstd stream. A traceparent alone makes an envelope 85 bytes longer.
//
// FormatJSON (InsertJSONField, ExtractJSONField) adds a first member to a
// JSON object payload, "_otel" unless WithJSONField names another:
//
//	{"_otel":{"traceparent":"00-…-01","tracestate":"…"},"event":"created"}
//
// Cost: JSON objects only (a Producer falls back to another format for other
// payloads, or reports ErrNotJSONObject); consumers that do not remove it see
// an extra field. Readers look only at the first member.
//
// FormatTags (TagCarrier) adds the fields as tags of a KPL user record: no
// change to key or data at all, and standard deaggregators ignore tags. Cost:
// only user records of aggregated records have tags (ErrTagsNeedAggregation
// otherwise).
//
// Whatever the format, a Producer makes every record read back exactly for a
// Consumer that looks for every format, as one does by default. Where the
// context did not go, a business key that starts like a wrapped key, data
// that is an envelope, or a JSON object whose first member is the context
// field would be read as carrying context: the producer wraps it with an empty
// context (the all-zero traceparent in the key, routed by the business key's
// hash key; an envelope without headers; an empty first member), so the
// consumer takes off exactly what the producer added and finds only the
// context the producer injected. The check costs a look at the first bytes of
// the key and data. A look-alike that cannot be wrapped (a key too long, a
// record at the size limit) is sent as it came, and the producer says so.
// Producer and Consumer must name the same JSON field; a Consumer limited by
// WithExtractFormats leaves the wrapping of the formats it skips on the rare
// records that needed it; FormatNone leaves records untouched.
//
// # Producer side
//
// A Producer writes context onto PutRecordInput and PutRecordsRequestEntry
// values and starts spans per the messaging semantic conventions:
// messaging.system "aws.kinesis", messaging.destination.name the stream,
// messaging.destination.partition.id the shard and messaging.message.id the
// sequence number, both from the response. PutRecord gets a PRODUCER span
// "send <stream>", whose context the record carries. PutRecords gets a
// PRODUCER span "create <stream>" per record, whose context that record
// carries, and a CLIENT span "send <stream>" for the call, linked to them.
// Producer.Middleware does all of this inside a Kinesis client:
//
//	p, err := propagation.NewProducer(propagation.WithFallback(propagation.FormatEnvelope))
//	client := kinesis.NewFromConfig(cfg, func(o *kinesis.Options) {
//		o.APIOptions = append(o.APIOptions, p.Middleware())
//	})
//
// # Consumer side
//
// A Consumer takes context off records from a Lambda event
// (Consumer.ExtractLambda), from GetRecords (Consumer.ExtractRecord) or given
// by partition key, data and tags, such as the user records of the consumer
// package's deaggregator (Consumer.Extract). It returns a Message with the
// business key and data as they were sent, and the context. StartBatch starts
// one CONSUMER span "process <stream>" linked to the context of every record of
// a batch; StartRecord starts one for a single record, as a child of the
// producer's span.
//
// Extraction takes hostile input: any key, data and tags. It never panics,
// and ignores a malformed context with the reason in Message.Err, passing the
// record through. Whatever the size of the data, it looks at no more than the
// context fields: the partition key, an envelope's fixed part and header block
// (at most 16 KiB), the first 32 KiB of a JSON object (room for a context
// field of 16 KiB of headers with their JSON quoting and escapes), and the
// tags. Its work and allocations are bounded by those, with one exception:
// taking a JSON context field off copies the rest of the data, once, into the
// new Message.Data.
//
// # Speed
//
// With propagation.TraceContext{} as the propagator, the W3C fields are
// written and read without intermediate strings: injecting into a record and
// extracting from it, Message.Context included, takes two allocations for the
// key and envelope formats (the new partition key or data, and the context).
package propagation
