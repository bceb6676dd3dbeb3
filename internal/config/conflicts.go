package config

import (
	"fmt"
	"slices"
	"strings"
)

// kind says what a setting configures, for the rules between settings: a shared producer
// brings its own stream, AWS and producer settings, and a Kinesis client given in code its
// own AWS settings.
type kind uint8

const (
	// exporterKind: how the exporter writes its records (encoding, compression,
	// partitioning, its partition functions and metric selectors); not the producer's.
	exporterKind kind = iota
	// streamKind: the stream, a producer's.
	streamKind
	// awsKind: how the Kinesis client is built (endpoint, region, role, AWS
	// configuration).
	awsKind
	// clientKind: the Kinesis client itself.
	clientKind
	// producerKind: how the producer batches, buffers, sends and retries.
	producerKind
	// sharedKind: the shared producer.
	sharedKind
	// metersKind: where the exporter's and the producer's own metrics go.
	metersKind
)

// kinds gives the kind of every setting an option or a variable sets, by name.
var kinds = map[string]kind{
	"stream_name": streamKind, "stream_arn": streamKind,
	"endpoint": awsKind, "region": awsKind, "role_arn": awsKind, "external_id": awsKind, "aws_config": awsKind,
	"kinesis_client":        clientKind,
	"aggregate_batch_count": producerKind, "aggregate_batch_size": producerKind, "batch_size": producerKind,
	"batch_count": producerKind, "backlog_count": producerKind, "backlog_bytes": producerKind,
	"flush_interval": producerKind, "max_connections": producerKind, "max_retries": producerKind,
	"max_backoff": producerKind, "record_ttl": producerKind, "request_timeout": producerKind,
	"rate_limit": producerKind, "aggregation": producerKind, "startup_check": producerKind,
	"encoding": exporterKind, "compression": exporterKind, "partition_by": exporterKind,
	"span_partition_key": exporterKind, "log_partition_key": exporterKind,
	"temporality": exporterKind, "aggregation_selector": exporterKind,
	"producer":       sharedKind,
	"meter_provider": metersKind,
}

// conflicts returns an error, starting with prefix, for each option opts cannot have together with another, naming
// both: WithProducer with any stream, AWS, client or producer option (the shared producer
// has its own), and WithKinesisClient with any AWS option (the client is used as it is).
func conflicts(prefix string, opts []*Option) []error {
	var shared, client *Option
	for _, o := range opts {
		for _, s := range o.Settings {
			switch kinds[s] {
			case sharedKind:
				shared = o
			case clientKind:
				client = o
			}
		}
	}
	var errs []error
	if shared != nil {
		if names := optionsOf(opts, streamKind, awsKind, clientKind, producerKind); len(names) > 0 {
			errs = append(errs, fmt.Errorf("%s: %s cannot be combined with %s: "+
				"the shared producer's stream, AWS and producer settings are its own (give them to NewProducer)",
				prefix, shared.Name, list(names)))
		}
	}
	if client != nil {
		if names := optionsOf(opts, awsKind); len(names) > 0 {
			errs = append(errs, fmt.Errorf("%s: %s cannot be combined with %s: "+
				"the client is used as it is (configure its endpoint, region and credentials on the client)",
				prefix, client.Name, list(names)))
		}
	}
	return errs
}

// optionsOf returns the names of the options of opts that set a setting of one of kinds,
// each once, in their order.
func optionsOf(opts []*Option, kinds ...kind) []string {
	var names []string
	for _, o := range opts {
		if o.sets(kinds...) && !slices.Contains(names, o.Name) {
			names = append(names, o.Name)
		}
	}
	return names
}

// sets reports whether o sets a setting of one of ks.
func (o *Option) sets(ks ...kind) bool {
	for _, s := range o.Settings {
		if slices.Contains(ks, kinds[s]) {
			return true
		}
	}
	return false
}

// list joins names as a sentence does: "A", "A and B", "A, B and C".
func list(names []string) string {
	if len(names) <= 1 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}
