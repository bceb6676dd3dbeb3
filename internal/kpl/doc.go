// Package kpl is the KPL-style producer shared by the trace, metric and log
// exporters. It writes user records to Kinesis as the Kinesis Producer
// Library does, in its aggregated record format: the codec of that format,
// the 128-bit hash keys and the partition key rules are package
// internal/kpl/aggregation, which this package imports.
package kpl
