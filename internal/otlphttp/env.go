package otlphttp

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ConfigFromEnv reads the OpenTelemetry OTLP exporter variables that apply to OTLP/HTTP
// with protobuf: OTEL_EXPORTER_OTLP_ENDPOINT (the base URL), OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
// _METRICS_ENDPOINT and _LOGS_ENDPOINT (full URLs), OTEL_EXPORTER_OTLP_HEADERS
// (key=value pairs separated by commas, values URL-encoded), OTEL_EXPORTER_OTLP_COMPRESSION
// (gzip or none) and OTEL_EXPORTER_OTLP_TIMEOUT (milliseconds). Unset variables leave
// the Config's zero values (the defaults). Every error names the variable.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	var c Config
	c.Endpoint = getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
	c.TracesURL = getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
	c.MetricsURL = getenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
	c.LogsURL = getenv("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT")
	if v := getenv("OTEL_EXPORTER_OTLP_HEADERS"); v != "" {
		h, err := ParseHeaders(v)
		if err != nil {
			return c, fmt.Errorf("OTEL_EXPORTER_OTLP_HEADERS: %w", err)
		}
		c.Headers = h
	}
	switch v := strings.ToLower(getenv("OTEL_EXPORTER_OTLP_COMPRESSION")); v {
	case "", "none":
	case "gzip":
		c.Gzip = true
	default:
		return c, fmt.Errorf("OTEL_EXPORTER_OTLP_COMPRESSION %q: want gzip or none", v)
	}
	if v := getenv("OTEL_EXPORTER_OTLP_TIMEOUT"); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms <= 0 {
			return c, fmt.Errorf("OTEL_EXPORTER_OTLP_TIMEOUT %q: want a positive number of milliseconds", v)
		}
		c.Timeout = time.Duration(ms) * time.Millisecond
	}
	return c, nil
}

// ParseHeaders reads headers written as OTEL_EXPORTER_OTLP_HEADERS writes them:
// key=value pairs separated by commas, values URL-encoded.
func ParseHeaders(s string) (map[string]string, error) {
	h := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("%q: want key=value", part)
		}
		dv, err := url.PathUnescape(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("%q: %w", part, err)
		}
		h[k] = dv
	}
	return h, nil
}
