package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/otelkinesis/otelkinesis/internal/testpeers"
	"github.com/otelkinesis/otelkinesis/propagation"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestExample runs the example against both emulators with each format and
// checks what it found and printed.
func TestExample(t *testing.T) {
	for _, peer := range testpeers.Emulators(t) {
		for _, f := range []propagation.Format{propagation.FormatKey, propagation.FormatEnvelope, propagation.FormatJSON, propagation.FormatTags} {
			t.Run(peer.Name+"/"+f.String(), func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				var out bytes.Buffer
				res, err := run(ctx, &out, config{endpoint: peer.Endpoint, stream: testpeers.UniqueStreamName(t), format: f, events: 60, groups: 6})
				if err != nil {
					t.Fatalf("%v\n%s", err, out.String())
				}
				want := result{events: 60, sameTrace: 60, linkedBatches: 2, batches: 2, groupsInOrder: 6, groups: 6, groupsExpected: 6}
				if res != want {
					t.Errorf("result %+v, want %+v\n%s", res, want, out.String())
				}
				for _, line := range []string{
					"consumer record spans in the producer's trace: 60 of 60",
					"groups whose events all went to the shard of their key, in order: 6 of 6",
				} {
					if !strings.Contains(out.String(), line) {
						t.Errorf("output lacks %q:\n%s", line, out.String())
					}
				}
				if f == propagation.FormatKey && !strings.Contains(out.String(), `partition key "tp~00-`) {
					t.Errorf("output shows no wrapped key:\n%s", out.String())
				}
				if f == propagation.FormatTags && !strings.Contains(out.String(), "KPL aggregated records") {
					t.Errorf("output shows no aggregated records:\n%s", out.String())
				}
			})
		}
	}
}
