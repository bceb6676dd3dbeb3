// Package selfobs is what the exporters' and the producer's own metrics share: when they
// are on, the instrumentation scope they are reported under, the names that tell one
// component from another, and the attributes of the Kinesis endpoint.
//
// They follow the OpenTelemetry Go SDK's own exporters: off unless the environment
// variable OTEL_GO_X_OBSERVABILITY is "true" (any case), read when a component is
// created, and then reported to the global MeterProvider. A MeterProvider given in code
// turns them on for that component whatever the variable says.
package selfobs

import (
	"context"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/otelkinesis/otelkinesis/internal/version"
)

// ScopeName is the instrumentation scope of every self-observability metric, with the
// library's version ([version.Version]) and the semantic conventions' schema URL.
const ScopeName = "github.com/otelkinesis/otelkinesis"

// EnvVar is the variable that turns self-observability on, the one the Go SDK's exporters
// read: "true" in any case turns it on; any other value, empty or unset, leaves it off.
const EnvVar = "OTEL_GO_X_OBSERVABILITY"

// The otel.component.type of each component. None is a standardized type, so each is the
// Go package path and type name of the component, as the semantic conventions ask of a
// custom component (and as the Go SDK's stdout exporters name theirs). Every producer,
// shared or an exporter's own, is of the type the shareable one has.
const (
	TypeSpanExporter   = "github.com/otelkinesis/otelkinesis/trace.Exporter"
	TypeMetricExporter = "github.com/otelkinesis/otelkinesis/metric.Exporter"
	TypeLogExporter    = "github.com/otelkinesis/otelkinesis/log.Exporter"
	TypeProducer       = "github.com/otelkinesis/otelkinesis.Producer"
)

// EnvEnabled reports whether EnvVar turns self-observability on.
func EnvEnabled() bool { return strings.EqualFold(os.Getenv(EnvVar), "true") }

// Provider returns the MeterProvider a component reports its metrics to, and false when it
// reports none: explicit when it is set (an option in code), otherwise the global
// MeterProvider when EnvVar turns self-observability on.
func Provider(explicit metric.MeterProvider) (metric.MeterProvider, bool) {
	if explicit != nil {
		return explicit, true
	}
	if EnvEnabled() {
		return otel.GetMeterProvider(), true
	}
	return nil, false
}

// Meter returns mp's meter of the library's scope.
func Meter(mp metric.MeterProvider) metric.Meter {
	return mp.Meter(ScopeName, metric.WithInstrumentationVersion(version.Version), metric.WithSchemaURL(semconv.SchemaURL))
}

var (
	namesMu sync.Mutex
	names   = map[string]int64{}
)

// NextName returns the otel.component.name of the next component of type typ: the type,
// "/" and how many components of that type this process created before (from 0), so that
// two components never report under the same name.
func NextName(typ string) string {
	namesMu.Lock()
	n := names[typ]
	names[typ] = n + 1
	namesMu.Unlock()
	return typ + "/" + strconv.FormatInt(n, 10)
}

// Server returns the server.address and server.port of the endpoint client sends
// PutRecords for streamARN (which may be empty) to, as its endpoint resolver resolves it:
// the override when one is set, otherwise the region's (or the stream's account's) AWS
// endpoint. The port is the URL's, or its scheme's default. It returns nil for a client
// whose options are not those of aws-sdk-go-v2's Kinesis client, or whose endpoint does
// not resolve.
func Server(client any, streamARN string) []attribute.KeyValue {
	c, ok := client.(interface{ Options() kinesis.Options })
	if !ok {
		return nil
	}
	o := c.Options()
	if o.EndpointResolverV2 == nil {
		return nil
	}
	params := kinesis.EndpointParameters{
		Region:                aws.String(o.Region),
		UseDualStack:          aws.Bool(o.EndpointOptions.UseDualStackEndpoint == aws.DualStackEndpointStateEnabled),
		UseFIPS:               aws.Bool(o.EndpointOptions.UseFIPSEndpoint == aws.FIPSEndpointStateEnabled),
		Endpoint:              o.BaseEndpoint,
		OperationType:         aws.String("data"),
		AccountIdEndpointMode: aws.String(string(o.AccountIDEndpointMode)),
	}
	if streamARN != "" {
		params.StreamARN = aws.String(streamARN)
	}
	ep, err := o.EndpointResolverV2.ResolveEndpoint(context.Background(), params)
	if err != nil {
		return nil
	}
	return urlServer(&ep.URI)
}

// urlServer returns the server.address and server.port of u, nil without a host.
func urlServer(u *url.URL) []attribute.KeyValue {
	host := u.Hostname()
	if host == "" {
		return nil
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil || port <= 0 || port > 65535 {
		switch strings.ToLower(u.Scheme) {
		case "https":
			port = 443
		case "http":
			port = 80
		default:
			return []attribute.KeyValue{semconv.ServerAddress(host)}
		}
	}
	return []attribute.KeyValue{semconv.ServerAddress(host), semconv.ServerPort(port)}
}

// ErrorOther is the error.type of a failure with no more specific class, as the semantic
// conventions name it.
const ErrorOther = "_OTHER"

// ErrorType returns the error.type attribute of class.
func ErrorType(class string) attribute.KeyValue { return semconv.ErrorTypeKey.String(class) }

// ComponentAttrs returns the otel.component.type and otel.component.name attributes.
func ComponentAttrs(typ, name string) []attribute.KeyValue {
	return []attribute.KeyValue{semconv.OTelComponentTypeKey.String(typ), semconv.OTelComponentName(name)}
}
