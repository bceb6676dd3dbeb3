// # Producer
//
// A Producer writes user records to one stream. New(ctx, client, cfg) takes a
// Client (the three Kinesis calls it needs, implemented by *kinesis.Client)
// and a Config (DefaultConfig plus the stream; Validate names every bad
// setting, its value and its range). Put copies a user record into the
// aggregate of its predicted shard and returns; Flush waits for everything
// put before it; Shutdown flushes and stops. One Producer per stream is meant
// to be shared by the trace, metric and log exporters, so that one rate
// limiter sees the whole write load: whoever creates it shuts it down, and
// an exporter handed a shared producer only flushes it on its own Shutdown.
//
// Life of a user record:
//
//   - Put checks the partition key (1 to 256 characters, valid UTF-8: the
//     JSON protocol would replace invalid bytes and Kinesis would then hash
//     another key) and the explicit hash key, refuses a record that cannot
//     fit one Kinesis record (ErrRecordTooLarge; MaxDataSize says how much
//     fits), waits while the backlog is full, then hashes the key (MD5, or
//     the explicit hash key) and finds the open shard whose range holds it.
//   - Each shard fills up to four aggregates at once; a user record goes to
//     the fullest one it fits in, so the 25 KiB PUT payload units are packed
//     tightly even when sizes vary. An aggregate is closed when nothing more
//     fits (aggregate_batch_size, counted as data plus outer partition key,
//     capped by the stream's record limit), at aggregate_batch_count, when
//     aggregates may span more than two PUT payload units and one pays for
//     at least half the limit with 99 % of its units used (filled on, it
//     would start a unit the next records might fill only in part), on
//     every flush_interval tick, on Flush and Shutdown, and when a Put waits
//     for room and nothing else is queued or in flight. A user record that
//     does not fit aggregate_batch_size alone goes alone.
//   - A closed aggregate becomes one Kinesis record: partition key of its
//     first user record, ExplicitHashKey the decimal hash key of that first
//     user record, which lies inside the predicted shard's range, so every
//     user record inside belongs to the shard it lands on (the KCL discards
//     an aggregate holding a user record outside its shard's range). Each
//     user record keeps its own partition key and explicit hash key.
//   - Records wait in their shard's queue (retries ahead of new records).
//     A PutRecords request is built when batch_count records or batch_size
//     bytes (data plus partition keys) are queued, or at once after a flush
//     tick, Flush, Shutdown or a waiting Put; it takes shards in turn, each
//     only as far as its token buckets allow (1000 records/s and 1 MiB/s,
//     scaled by rate_limit percent, one second of burst; a shard that
//     throttles us has its buckets emptied, a request refused for another
//     reason gives its tokens back). A rate-limited shard has one request in
//     flight at a time, so its records cannot reach Kinesis closer together
//     than they were sent. At most max_connections requests are in flight.
//     A batch under half of batch_count and batch_size waits while two
//     requests sent less than 250 ms ago are in flight: the rest gathers
//     into larger requests as they end, instead of going out a few records
//     at a time, each paying the cost of a request.
//     A flush_interval tick leaves open the aggregates of a shard whose
//     queue waits for tokens: closing them would make them smaller, not
//     sooner.
//   - The outcome is read per entry. Stored entries end delivered. Failed
//     entries, or all of a failed request, are classified (classifyError in
//     retry.go): throttling, 5xx, expired tokens, credentials that cannot be
//     fetched, DNS failures, refused or reset connections and timeouts are
//     retried, alone, not the whole request, after a backoff (random in
//     [c/2, c], c = min(max_backoff, min_backoff * 3^(n-1))); permanent
//     errors (stream missing, access denied, validation, KMS key disabled or
//     missing) drop the records at once, so a permanent failure costs one
//     request per batch and no retries.
//   - Delivery budget: every record carries the time its oldest user record
//     was put, and is given up (DropExpired) when RecordTTL has passed since:
//     a retry is never scheduled past the budget (the last attempt goes just
//     before it ends), a request's deadline is the earliest budget of its
//     records, and a sweep (expireLocked, run when the earliest budget held
//     ends) drops what expired in the queues, the retry heap and the open
//     aggregates. MaxRetries caps only the failed attempts Kinesis answered;
//     attempts that never reached it are bounded by the budget alone.
//   - Every user record ends delivered or dropped. Drops are reported as a
//     *DropError (stream, reason, records, bytes, telemetry items, attempts,
//     last error) to the HookDropped hooks of Config.Hooks and otel.Handle,
//     counted in Stats and the metrics, and returned by the next Flush (or
//     Shutdown). The exporters add a HookDropped to count the dropped items
//     (spans, data points, log records) in their own metrics (package
//     internal/exporter).
//
// Aggregation off (Config.DisableAggregation): every user record is its own
// plain Kinesis record with its own partition key and explicit hash key, no
// magic, digest or tags; batching, limits, rate limiting, retries and
// accounting are the same.
//
// Shard map. New reads the open shards with ListShards (all pages) and
// checks they cover the hash key space exactly once. The map is read again
// every shard_map_refresh, with backoff after failures, and when the stream
// shows a reshard: an entry stored on another shard than predicted, or a
// request or entry refused with an error that says the stream is being
// resharded (ResourceInUseException: the stream is UPDATING; such records are
// retried as well). These reads are paced, since every request of a reshard
// may ask for one: the first is made at once; while asks keep coming and the
// reads find the same shards, each waits min_backoff after the previous read,
// then twice that, and so on up to max_backoff (and shard_map_refresh); a read
// that finds new shards, or an ask after a quiet spell of twice that wait,
// starts over, and while reads fail asks wait for the failure backoff. A
// record stored on an unexpected shard is delivered if its landing shard's
// range holds all its user records; otherwise the KCL would discard it, so its
// user records are sent again, aggregated for the new map (counted in
// Stats.WrongShardResends: a reader that does not apply the KCL rule sees
// them twice). Aggregates waiting in queues or for a retry whose shard went
// away are routed again, and taken apart and aggregated again per new shard
// if their user records now span several. Without a usable map (for example
// no ListShards permission) the producer says so once through otel.Handle
// and aggregates only user records with the same hash key, which is safe for
// any shard layout, with no rate limiting, until a read succeeds. A stream
// that does not exist fails New; other failures of DescribeStreamSummary
// leave the record size limit at 1 MiB.
//
// Backlog. backlog_count bounds the user records waiting to be sent (in
// closed aggregates queued for a request, or waiting for a retry);
// backlog_bytes bounds the memory the producer holds for user records, from
// Put until delivered or dropped: each aggregate's buffer (as the allocator
// rounds it), the JSON entry its record will take in a request body (its
// data in base64, 4/3 of its size, with its keys: reserved from Put on, so
// that a request always has room for its body and never waits for
// memory), the bookkeeping of its records, and the record and body buffers
// kept for reuse (dropped first when a Put needs room). About 3/7 of the
// budget is user data; Stats.MemoryBytes is what is held now. A user record
// larger than backlog_bytes is still taken when the producer holds nothing.
// A Put that finds either bound reached makes what is buffered move (queued
// records go out in partial batches; if nothing is queued or in flight, the
// open aggregates are closed) and blocks until there is room or its context
// ends: memory never grows without bound, and the exporters decide whether
// to wait or drop. Beyond backlog_bytes the producer holds only the
// aggregates' buffers' spare room (up to four aggregates a shard being
// filled) and a request's worth of SDK bookkeeping per connection. Every
// PutRecords call passes internal/putrecords's serializer as a call option,
// so a *kinesis.Client writes the body into the producer's buffer, whoever
// built it; a Client of another kind (one that ignores call options)
// serialises bodies its own way, outside this count.
//
// Retries and the AWS SDK. The producer owns retries: every call it makes
// passes an option that sets the client's retryer to aws.NopRetryer, so the
// SDK's own retries and its retry quota (which fails fast under sustained
// throttling) never fight the producer's. Build the client with retries off
// all the same (aws.NopRetryer or RetryMaxAttempts 1). An attempt whose
// outcome is unknown (timeout, connection lost, 5xx) may have been stored:
// sending it again may duplicate it, and Stats.PossibleDuplicates counts
// those user records. Kinesis PutRecords does not keep order within a
// request, and retries reorder further: the producer does not promise order.
//
// Flush and Shutdown. Flush closes every aggregate, sends everything and
// waits until all records put before it ended, honouring its context; it is
// safe to call concurrently with anything. Shutdown makes later Puts fail
// with ErrShutdown, flushes, then stops every goroutine; if its context ends
// first it drops what is still held (and cancels requests in flight,
// counting their records as dropped), and says how many in its error.
// Shutdown is idempotent.
//
// Metrics. Off by default: Config.MeterProvider set, or
// OTEL_GO_X_OBSERVABILITY=true when New runs (then the global
// MeterProvider), turns them on. They are reported under the scope
// github.com/otelkinesis/otelkinesis (with the library's version), each
// series with the producer's otel.component.type and otel.component.name
// (one name per producer in the process, so two producers never add up),
// aws.kinesis.stream_name and, for an aws-sdk-go-v2 client, the
// server.address and server.port it sends to: otelkinesis.producer.user_records
// and .user_records.size (put), .user_records.delivered, .user_records.dropped
// and .dropped.size (by error.type, the drop reason), .items.delivered and
// .items.dropped (the telemetry items those user records held),
// .user_records.possible_duplicates, .kinesis_records (sent, every attempt),
// .requests, .retries (by error.type, the Kinesis error code), .throttles,
// .buffered.user_records, .buffered.size, .memory.used and .memory.limit
// (what Config.BacklogBytes bounds, and that bound), .aggregation.user_records
// (histogram of user records per Kinesis record: the aggregation ratio; not
// recorded with aggregation off, where it is always 1) and .request.duration
// (seconds; error.type unless every entry was stored). The counters are read
// from the producer's own counters at collection time, so Put pays nothing
// for them, and nothing in the metric path calls Put: a metric exporter
// writing through this producer adds one export's worth of records per
// collection, never a loop. After Shutdown the series keep their last values
// (memory.limit reads 0). The hooks and otel.Handle are called without any
// producer lock held.
//
// Hooks. Config.Hooks observe the producer, each through the Hook interfaces
// it implements: HookDropped gets every *DropError, HookBatchWritten every
// PutRecords request when it ends (records, user records, bytes, shards,
// latency, outcome, error code: BatchWritten), HookShardMapChanged every shard
// map applied whose open shards differ from the previous one's (the first
// included: ShardMapChange). They are called from the producer's goroutines
// (the startup map's from New), after the lock is released, and before a Flush
// they concern returns: a request's HookBatchWritten comes before its drops,
// and a map's change before the drops reported with it. A hook must not block:
// the goroutine calling it is delivering records or reading the map.
package kpl
