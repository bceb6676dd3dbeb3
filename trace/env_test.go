package trace_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otelkinesis/otelkinesis/internal/exportertest"
	"github.com/otelkinesis/otelkinesis/kinesistest"
	kinesistrace "github.com/otelkinesis/otelkinesis/trace"
)

// TestEnvironmentOnly: with only the stream name, the endpoint, the region and credentials
// in the environment, and nothing else of OpenTelemetry's or AWS's, New(ctx) with no
// options works, and spans arrive signed with those credentials. A second run adds an AWS
// variable that would break a custom endpoint if it were honoured.
func TestEnvironmentOnly(t *testing.T) {
	for _, extra := range [][2]string{{}, {"AWS_ACCOUNT_ID_ENDPOINT_MODE", "required"}} {
		name := "minimal"
		if extra[0] != "" {
			name = extra[0]
		}
		t.Run(name, func(t *testing.T) {
			srv := kinesistest.NewServer()
			t.Cleanup(srv.Close)
			if _, err := srv.CreateStream("from-env", 2); err != nil {
				t.Fatal(err)
			}
			exportertest.ClearEnv(t, "OTEL_", "AWS_")
			t.Setenv("OTEL_EXPORTER_KINESIS_STREAM_NAME", "from-env")
			t.Setenv("OTEL_EXPORTER_KINESIS_ENDPOINT", srv.URL())
			t.Setenv("AWS_REGION", "us-east-1")
			t.Setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
			t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
			// No shared AWS config or credentials files of the machine's user either.
			t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
			t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
			if extra[0] != "" {
				t.Setenv(extra[0], extra[1])
			}

			ctx := context.Background()
			exp, err := kinesistrace.New(ctx)
			if err != nil {
				t.Fatal(err)
			}
			spans := tracetestSpans(5)
			if err := exp.ExportSpans(ctx, spans); err != nil {
				t.Fatal(err)
			}
			if err := exp.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			seen := readSpans(t, srv, "from-env")
			if len(seen) != 5 {
				t.Fatalf("read %d spans, want 5", len(seen))
			}
			reqs := srv.RequestsFor("PutRecords")
			if len(reqs) == 0 || !strings.Contains(reqs[0].Header.Get("Authorization"), "Credential=AKIDENV/") {
				t.Errorf("PutRecords not signed with the environment's credentials: %v", reqs)
			}
		})
	}
}

// TestInvalidSettingRefused: New refuses an invalid setting, naming it, its value and the
// allowed range, before touching the network.
func TestInvalidSettingRefused(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_KINESIS_STREAM_NAME", "s")
	t.Setenv("OTEL_EXPORTER_KINESIS_TRACES_BATCH_COUNT", "1000")
	_, err := kinesistrace.New(context.Background())
	if want := "otelkinesis: traces exporter: OTEL_EXPORTER_KINESIS_TRACES_BATCH_COUNT=1000: out of range; allowed 1 to 500 (option WithBatchCount)"; err == nil || err.Error() != want {
		t.Fatalf("New = %v, want batch_count refused with its range", err)
	}
}
