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
package consumer
