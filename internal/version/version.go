// Package version holds the release of otelkinesis, for the packages that cannot import
// the root package (it imports them); the root package exports it as otelkinesis.Version.
package version

// Version is the release of otelkinesis this source is. It is the instrumentation scope
// version of the library's own metrics and spans, and part of the User-Agent of its
// OTLP/HTTP client.
const Version = "0.1.0"
