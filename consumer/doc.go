// Package consumer is the reading side of otelkinesis: it turns the Kinesis
// records a consumer holds back into the user records the producer wrote.
//
// otelkinesis writes KPL aggregated records (the format of the Kinesis
// Producer Library): the magic bytes F3 89 9A C2, a protobuf AggregatedRecord
// holding many user records, each with its own partition key, optional
// explicit hash key, data and tags, and an MD5 digest of the protobuf bytes.
// Deaggregate reads one record's data; DeaggregateRecord and
// DeaggregateLambdaRecord take the records of aws-sdk-go-v2's GetRecords and
// of aws-lambda-go's Kinesis events directly. Data without the magic is passed
// through as one plain user record, so a consumer can read streams written
// with or without aggregation the same way.
//
// Reading is strict: a bad digest, truncated or malformed protobuf, or an
// index outside its table gives a *FormatError naming the check that failed
// (errors.Is with ErrChecksum, ErrTruncated, ErrMalformed, ErrIndexOutOfRange)
// and the byte offset. Bad input never panics, and the memory allocated is
// bounded by the size of the input. User records' Data share memory with the
// input; their strings do not.
//
// A consumer that reads one shard, as the KCL does, can apply the KCL's check
// with WithShard or WithShardHashKeyRange: user records hashing outside the
// shard's range are reported in a *ShardRangeError rather than passed on
// silently.
//
// A Reader goes on to decode: it reads each user record's format from its tags,
// undoes its compression and unmarshals it into the go.opentelemetry.io/proto/otlp
// request types. OTLP protobuf of every signal goes through a decoder of its own,
// held to proto.Unmarshal by fuzz tests, that takes the messages of a whole batch
// from a few chunks allocated together, and their strings and bytes from one
// private copy of the payloads, where proto.Unmarshal allocates each message and
// string on its own. Batch.Release hands that memory back to the Reader, which
// decodes the next batch into it with next to no allocation.
//
// Throughput on aggregated OTLP protobuf traces of realistic spans (50 KiB
// aggregates, 1 MB per batch), per core: bytes of Kinesis record data per second of
// CPU time, garbage collection included, medians of 10 on a shared 2-core machine
// where MD5 alone ran at 0.79 GB/s (0.9 on a quiet core):
//
//	                                 MD5 checked   MD5 not checked
//	ReadRecords                        160 MB/s        200 MB/s
//	ReadRecords, then Batch.Release    360 MB/s        730 MB/s
//	deaggregation and proto.Unmarshal                    90 MB/s
//
//	go test -run '^$' -bench '^BenchmarkReadAggregated$' -benchtime 40x -count 10 ./consumer
//
// Deaggregation alone (BenchmarkDeaggregate, MD5 not checked) reads aggregates of
// 1 KiB user records at 4 to 6 GB/s per core and of 100-byte ones at about 1 GB/s.
package consumer
