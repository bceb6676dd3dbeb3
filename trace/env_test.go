package trace_test

import (
	"context"
	"strings"
	"testing"

	"github.com/otelkinesis/otelkinesis/kinesistest"
	kinesistrace "github.com/otelkinesis/otelkinesis/trace"
)

// TestEnvironmentOnly: with only the stream name, the endpoint, the region and credentials
// in the environment, New(ctx) with no options works, and spans arrive.
func TestEnvironmentOnly(t *testing.T) {
	srv := kinesistest.NewServer()
	t.Cleanup(srv.Close)
	if _, err := srv.CreateStream("from-env", 2); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OTEL_EXPORTER_KINESIS_STREAM_NAME", "from-env")
	t.Setenv("OTEL_EXPORTER_KINESIS_ENDPOINT", srv.URL())
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", "required") // must not break a custom endpoint
	t.Setenv("OTEL_EXPORTER_KINESIS_TRACES_FLUSH_INTERVAL", "10")

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
}

// TestInvalidSettingRefused: New refuses an invalid setting, naming it, its value and the
// allowed range, before touching the network.
func TestInvalidSettingRefused(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_KINESIS_STREAM_NAME", "s")
	t.Setenv("OTEL_EXPORTER_KINESIS_TRACES_BATCH_COUNT", "1000")
	_, err := kinesistrace.New(context.Background())
	if err == nil || !strings.Contains(err.Error(), "batch_count = 1000") || !strings.Contains(err.Error(), "1 to 500") {
		t.Fatalf("New = %v, want batch_count refused with its range", err)
	}
}
