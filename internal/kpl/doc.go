// Package kpl is the KPL-style producer shared by the trace, metric and log
// exporters, and the codec of the Kinesis Producer Library's aggregated
// record format that it writes.
//
// # Hash keys
//
// Kinesis routes a record by a 128-bit hash key: the MD5 digest of its
// partition key read as a big-endian unsigned integer, or an explicit hash key
// given in decimal. HashKey, HashPartitionKey, ParseHashKey and HashRange work
// with these without math/big and without allocating.
//
// # Aggregation format
//
// An aggregated record is the magic bytes F3 89 9A C2, then the protobuf
// message AggregatedRecord, then the 16-byte MD5 digest of the protobuf bytes:
//
//	message AggregatedRecord { repeated string partition_key_table = 1;
//	                           repeated string explicit_hash_key_table = 2;
//	                           repeated Record records = 3; }
//	message Record { required uint64 partition_key_index = 1;
//	                 optional uint64 explicit_hash_key_index = 2;
//	                 required bytes data = 3;
//	                 repeated Tag tags = 4; }
//	message Tag    { required string key = 1; optional string value = 2; }
//
// Aggregator writes it incrementally and knows its exact size after every
// user record. The reading side is package consumer.
package kpl
