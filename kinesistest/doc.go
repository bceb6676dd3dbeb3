// Package kinesistest runs an in-process Amazon Kinesis Data Streams endpoint for tests,
// in the spirit of net/http/httptest: [NewServer] listens on a loopback port, a real
// Kinesis client talks to [Server.URL], and the test scripts faults and reads back
// everything that arrived.
//
//	srv := kinesistest.NewServer()
//	defer srv.Close()
//	stream, err := srv.CreateStream("events", 2)
//	...
//	client := kinesis.NewFromConfig(srv.AWSConfig())
//
// # Clients
//
// [Server.AWSConfig] returns an aws.Config ready for kinesis.NewFromConfig: BaseEndpoint
// set to [Server.URL], static credentials, the server's region, account ID endpoint mode
// disabled, and the SDK's retries off, so that each call is one request and a test counts
// exactly what was sent. A client built by hand should use [HTTPClient] or
// [WrapHTTPClient]: with a plain awshttp.NewBuildableClient, aws-sdk-go-v2 sometimes
// fails a call the server answered with "use of closed network connection" (a race
// between the SDK closing the request body and net/http finishing it, which only an
// endpoint as fast as a loopback one exposes; a retrying client then sends the request
// twice).
//
// # Protocol
//
// The server speaks the protocol aws-sdk-go-v2's Kinesis client uses: JSON 1.1 over HTTP
// (POST /, X-Amz-Target Kinesis_20131202.<Operation>, Content-Type
// application/x-amz-json-1.1), with blobs in base64 and timestamps in epoch seconds.
// Error answers carry {"__type": ..., "message": ...} and the HTTP status AWS uses: 400
// for client errors, 500 for InternalFailure, 503 for ServiceUnavailable. Every answer
// has a Content-Length. The CBOR encodings (application/x-amz-cbor-1.1, Smithy RPC v2
// CBOR) are not spoken: aws-sdk-go-v2 does not send them unless told to. Signatures are
// not checked; [Server.Requests] keeps the headers so a test can assert on them.
//
// Operations: CreateStream, DeleteStream, DescribeStream, DescribeStreamSummary (with
// MaxRecordSizeInKiB), ListStreams, ListShards (NextToken, MaxResults,
// ExclusiveStartShardId, ShardFilter), PutRecord, PutRecords, GetShardIterator
// (TRIM_HORIZON, LATEST, AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER, AT_TIMESTAMP),
// GetRecords (NextShardIterator, MillisBehindLatest, ChildShards), SplitShard,
// MergeShards, UpdateShardCount (UNIFORM_SCALING) and UpdateMaxRecordSize. A stream may
// be named by StreamName or StreamARN. Other operations answer
// UnknownOperationException.
//
// # Streams and shards
//
// Streams are ACTIVE as soon as they are created, and resharding takes effect at once
// (AWS passes through CREATING and UPDATING for a while). A stream of N shards gets the
// hash key ranges AWS gives it: with q = floor(2^128 / N), shard i covers i*q to
// (i+1)*q-1, and the last shard ends at 2^128-1, absorbing the remainder. Shard IDs are
// shardId-000000000000, shardId-000000000001... in creation order.
//
// A record is routed as Kinesis routes it: its hash key is the ExplicitHashKey when one
// is given, else the MD5 digest of the partition key's UTF-8 bytes read as an unsigned
// 128-bit big-endian integer, and it lands on the open shard whose range holds that key.
// Sequence numbers are 56-digit decimal strings drawn from one counter per stream, so
// they increase along each shard, from a parent shard to its children, and compare the
// same as strings and as numbers.
//
// SplitShard and MergeShards close their parents, which keep their records, get an
// EndingSequenceNumber and accept no more writes; the children name them as
// ParentShardId and AdjacentParentShardId. UpdateShardCount reaches the uniform layout of
// the target count by splits and then merges, as AWS does, so every child has at most
// two parents; the intermediate shards of the merges are closed at once, empty. Reading
// a closed shard to its end returns no NextShardIterator and the ChildShards to read
// next. Records are never trimmed: the retention period is reported as 24 hours but not
// applied, and the trim horizon is the stream's creation.
//
// # Validation
//
// Requests are validated as Kinesis validates them, with Kinesis's error types:
// ValidationException for model constraints (more than 500 PutRecords entries, a
// partition key outside 1 to 256 characters (counted in UTF-16 code units, as Kinesis does), an ExplicitHashKey not matching
// 0|([1-9]\d{0,38}), a record's data larger than the stream's MaxRecordSizeInKiB, a
// malformed stream name...), InvalidArgumentException for an ExplicitHashKey above
// 2^128-1 and for a PutRecords request whose data and partition keys exceed the request
// limit ("Records size exceeds 10 MB limit"; see [WithRequestSizeLimit]),
// ResourceNotFoundException for a missing stream or shard, ResourceInUseException for a
// stream name already taken. Messages follow the wording Kinesis uses where it is known.
//
// # Faults
//
// A test scripts faults per request with [Server.InjectRequests] (the next N requests,
// optionally of given operations) or [Server.InjectRequestFunc] (a function of the
// request), using the [Fault] helpers: [Throttling], [LimitExceeded], [KMSThrottling],
// [InternalFailure], [ServiceUnavailable], [ResourceNotFound], [AccessDenied],
// [ProvisionedThroughputExceeded], [ErrorFault], [Latency], [Stall] (held until
// [Server.Release], the client giving up, or Close), [DropConnection] (the connection
// closes before the request is served) and [DropResponse] (served, then closed without an
// answer). Per record, [Server.InjectEntryRate] (seeded, deterministic),
// [Server.InjectEntryShards] and [Server.InjectEntryFunc] refuse entries with
// ProvisionedThroughputExceededException or InternalFailure in an otherwise successful
// PutRecords answer. [WithWriteCapacity] enforces per-shard write capacity with token
// buckets, so a producer's rate limiting can be measured; [WithClock] makes it
// deterministic.
//
// # Outages
//
// [Server.StartOutage] and [Server.EndOutage], or [Server.Outage] for a window that ends
// by itself, make the whole endpoint unreachable, every request and operation alike, in
// one of three ways: [OutageHangUp] reads each request and closes the connection without
// an answer; [OutageRefuse] stops listening, so connecting is refused, closes the
// connections open then, and listens on the same port again afterwards;
// [OutageUnanswered] holds each request until the client gives up or the outage ends,
// and then closes it without an answer. No request is served during an outage; records
// written before stay. Requests that met one are counted in [Stats] OutageRequests and
// marked in [RecordedRequest] Outage, so a test can assert that the outage was hit.
//
// # Observing
//
// [Server.Requests] returns every request with its operation, stream, the SDK's attempt
// number, headers, entries and the outcome of each; [Server.Stats] counts accepted,
// throttled and failed records; [Stream.Records] and [Stream.Shards] read what landed on
// each shard directly.
//
// Close ends stalled requests and outages, closes every connection and returns once
// every handler has: a test using goleak sees no goroutine left behind.
package kinesistest
