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

// conflicts returns an error, starting with prefix, for each option opts cannot have together with another, naming
// both: WithProducer with any stream, AWS, client or producer option (the shared producer
// has its own), and WithKinesisClient with any AWS option (the client is used as it is).
func conflicts(prefix string, opts []*Option) []error {
	var shared, client *Option
	for _, o := range opts {
		for _, s := range o.Settings {
			switch kindOf(s) {
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
		if slices.Contains(ks, kindOf(s)) {
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

// kindOf returns the kind of the setting named name.
func kindOf(name string) kind {
	if s, ok := byName[name]; ok {
		return s.kind
	}
	return exporterKind
}
