package exportertest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/otelkinesis/otelkinesis/internal/plural"
	"github.com/otelkinesis/otelkinesis/internal/testpeers"
	"github.com/otelkinesis/otelkinesis/internal/teststream"
	"github.com/otelkinesis/otelkinesis/kinesistest"
)

// Read reads srv's stream back through a Kinesis client and returns every record,
// decoded.
func Read(t testing.TB, srv *kinesistest.Server, stream string) []teststream.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	recs, err := teststream.Read(ctx, testpeers.Client(t, srv.URL()), stream)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// ReadCount reads srv's stream back as Read does and returns the sum of count over the
// records: the data points or log records they hold.
func ReadCount(t testing.TB, srv *kinesistest.Server, stream string, count func(teststream.Record) int) int {
	t.Helper()
	n := 0
	for _, r := range Read(t, srv, stream) {
		n += count(r)
	}
	return n
}

// SurvivesFaults checks that failing requests lose nothing: on top of the entry faults
// the caller injected into srv (which must throttle some entries), two PutRecords
// requests answer 503 and one loses its connection. It calls export calls times and then
// shutdown, which must succeed, and read must then count want items in the stream.
func SurvivesFaults(t *testing.T, srv *kinesistest.Server, calls int, export, shutdown func(context.Context) error, read func() int, want int) {
	t.Helper()
	srv.InjectRequests(2, kinesistest.ServiceUnavailable(), "PutRecords")
	srv.InjectRequests(1, kinesistest.DropConnection(), "PutRecords")
	ctx := context.Background()
	for range calls {
		if err := export(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if got := read(); got != want {
		t.Fatalf("read %s, want %d", plural.Count(got, "item"), want)
	}
	if srv.Stats().RecordsThrottled == 0 {
		t.Error("no entry was throttled: the fault did not happen")
	}
}

// PermanentFailure checks that a stream refusing every PutRecords with AccessDenied fails
// fast: export still succeeds (delivery is asynchronous), shutdown reports the drop, and
// the producer does not retry (at most 5 requests).
func PermanentFailure(t *testing.T, srv *kinesistest.Server, export, shutdown func(context.Context) error) {
	t.Helper()
	srv.InjectRequests(-1, kinesistest.AccessDenied(), "PutRecords")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := export(ctx); err != nil {
		t.Fatal(err)
	}
	if err := shutdown(ctx); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("Shutdown = %v, want the AccessDenied drop", err)
	}
	if n := len(srv.RequestsFor("PutRecords")); n > 5 {
		t.Errorf("%s for a permanent error", plural.Count(n, "request"))
	}
}

// ShutdownSemantics checks an exporter's calls after Shutdown: export returns errShutdown
// (the SDK's ErrExporterShutdown), a second shutdown returns again (nil or errShutdown,
// as the SDK interface says), and forceFlush returns nil.
func ShutdownSemantics(t *testing.T, export, shutdown, forceFlush func(context.Context) error, errShutdown, again error) {
	t.Helper()
	ctx := context.Background()
	if err := shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := export(ctx); !errors.Is(err, errShutdown) {
		t.Errorf("Export after Shutdown = %v, want %v", err, errShutdown)
	}
	if err := shutdown(ctx); !errors.Is(err, again) {
		t.Errorf("second Shutdown = %v, want %v", err, again)
	}
	if err := forceFlush(ctx); err != nil {
		t.Errorf("ForceFlush after Shutdown = %v", err)
	}
}
