package otelkinesis

import "github.com/otelkinesis/otelkinesis/internal/version"

// Version is the release of otelkinesis ("0.1.0"): the instrumentation scope version of
// its self-observability metrics and of the spans package propagation starts.
const Version = version.Version
