package selfobs

import (
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// TestProvider: an explicit MeterProvider is used whatever the variable says; without
// one, only "true" in any case turns self-observability on, with the global provider.
func TestProvider(t *testing.T) {
	explicit := sdkmetric.NewMeterProvider()
	for _, v := range []string{"", "false", "1", "yes", "true", "TRUE", "True"} {
		t.Setenv(EnvVar, v)
		on := strings.EqualFold(v, "true")
		if mp, ok := Provider(nil); ok != on || (ok && mp != otel.GetMeterProvider()) {
			t.Errorf("%s=%q: Provider(nil) = %v, %v; want on %v with the global provider", EnvVar, v, mp, ok, on)
		}
		if mp, ok := Provider(explicit); !ok || mp != explicit {
			t.Errorf("%s=%q: Provider(explicit) = %v, %v; want the explicit provider", EnvVar, v, mp, ok)
		}
	}
}

// TestNextName: each type counts its components from 0, apart from the other types.
func TestNextName(t *testing.T) {
	const a, b = "example.com/a.Exporter", "example.com/b.Exporter"
	for i, want := range []string{a + "/0", a + "/1", b + "/0", a + "/2", b + "/1"} {
		typ := a
		if strings.HasPrefix(want, b) {
			typ = b
		}
		if got := NextName(typ); got != want {
			t.Errorf("name %d = %q, want %q", i, got, want)
		}
	}
}

func serverString(kvs []attribute.KeyValue) string {
	var s []string
	for _, kv := range kvs {
		s = append(s, string(kv.Key)+"="+kv.Value.Emit())
	}
	return strings.Join(s, " ")
}

// TestServer: the endpoint is what the client's resolver gives for PutRecords.
func TestServer(t *testing.T) {
	newClient := func(fn func(*kinesis.Options)) *kinesis.Client {
		return kinesis.New(kinesis.Options{Region: "eu-west-1", Credentials: aws.AnonymousCredentials{}}, fn)
	}
	for _, tc := range []struct {
		name   string
		client any
		arn    string
		want   string
	}{
		{"region", newClient(func(*kinesis.Options) {}), "",
			"server.address=kinesis.eu-west-1.amazonaws.com server.port=443"},
		{"stream ARN", newClient(func(*kinesis.Options) {}), "arn:aws:kinesis:eu-west-1:123456789012:stream/s",
			"server.address=123456789012.data-kinesis.eu-west-1.amazonaws.com server.port=443"},
		{"override", newClient(func(o *kinesis.Options) { o.BaseEndpoint = aws.String("http://127.0.0.1:4567") }), "",
			"server.address=127.0.0.1 server.port=4567"},
		{"override, no port", newClient(func(o *kinesis.Options) { o.BaseEndpoint = aws.String("https://vpce-1.kinesis.example") }), "",
			"server.address=vpce-1.kinesis.example server.port=443"},
		{"not an SDK client", struct{}{}, "", ""},
	} {
		if got := serverString(Server(tc.client, tc.arn)); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestURLServer: an IPv6 host loses its brackets; a scheme without a known default port
// gives only the address.
func TestURLServer(t *testing.T) {
	for raw, want := range map[string]string{
		"http://[::1]:8080/":  "server.address=::1 server.port=8080",
		"http://localhost":    "server.address=localhost server.port=80",
		"unix:///tmp/sock":    "",
		"custom://host.local": "server.address=host.local",
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := serverString(urlServer(u)); got != want {
			t.Errorf("%s: %q, want %q", raw, got, want)
		}
	}
}
