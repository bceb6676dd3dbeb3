// Package putrecords writes the body of aws-sdk-go-v2's Kinesis PutRecords requests
// itself, the hottest call of the producer.
//
// The SDK serialises a PutRecords request through its generic JSON shape serializer:
// every record's data is base64-encoded into a buffer that grows by doubling, and the
// result is copied out once more: for a 5 MiB request that is about three times the
// body's size in garbage for every call, which the garbage collector then pays for.
// [AddSerializer] replaces that step for PutRecords only: it sizes the body first, writes
// the JSON into one pooled buffer of that size (base64 straight from the record bytes),
// hashes it with SHA-256 and hands the hash to the signer, which then does not read the
// body again. The request
// that goes out is the same request: the same operation, headers, JSON document and
// signature; only the order of JSON members may differ, which JSON does not give meaning
// to.
//
// [AddDeserializer] does the same for PutRecords responses: the SDK reads them with its
// generic schema-driven decoder, a few allocations per result entry; this package's
// parser reads a successful response in one pass, its strings slices of one copy of the
// body, and hands error responses to the SDK's deserializer. FuzzParseOutput holds it to
// the SDK's reading. [WithPutRecords] installs both.
//
// Every other operation keeps the SDK's own serializer and deserializer.
package putrecords
