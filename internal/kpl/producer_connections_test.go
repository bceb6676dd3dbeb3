package kpl

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// concurrencyClient counts the PutRecords calls in flight on a fake stream and
// keeps the most seen at once.
type concurrencyClient struct {
	*fakeKinesis
	now, peak atomic.Int64
}

func (c *concurrencyClient) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, opts ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	n := c.now.Add(1)
	for {
		p := c.peak.Load()
		if n <= p || c.peak.CompareAndSwap(p, n) {
			break
		}
	}
	defer c.now.Add(-1)
	return c.fakeKinesis.PutRecords(ctx, in, opts...)
}

// TestProducerMaxConnections: with 16 shards, each with a full batch's worth of
// records queued, and requests that take 50 ms, many more requests could go at
// once than max_connections allows: exactly max_connections are in flight at the
// peak, never more, and every record arrives.
func TestProducerMaxConnections(t *testing.T) {
	for _, limit := range []int{1, 3} {
		t.Run(fmt.Sprintf("max_connections=%d", limit), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFakeKinesis("s", 16)
				f.latency = func(int) time.Duration { return 50 * time.Millisecond }
				c := &concurrencyClient{fakeKinesis: f}
				cfg := testConfig("s")
				cfg.MaxConnections = limit
				cfg.BatchCount = 10
				cfg.AggregateBatchCount = 5
				cfg.BacklogCount = 100000
				cfg.FlushInterval = time.Hour
				p, err := New(t.Context(), c, cfg)
				if err != nil {
					t.Fatal(err)
				}
				want := map[string]string{}
				for i := range 4000 { // 800 Kinesis records: 80 full batches
					d := fmt.Sprintf("r%d", i)
					want[d] = fmt.Sprintf("k%d", i)
					mustPut(t, p, want[d], "", []byte(d), nil)
				}
				mustFlush(t, p)
				checkExactlyOnce(t, f, readKCL(t, f), want, nil)
				put, _ := f.calls()
				t.Logf("%d requests, at most %d in flight", put, c.peak.Load())
				if got := c.peak.Load(); got != int64(limit) {
					t.Errorf("at most %d requests in flight, want max_connections %d reached and never passed", got, limit)
				}
				if put < 80 {
					t.Errorf("%d requests for 80 full batches", put)
				}
				if err := p.Shutdown(t.Context()); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}
