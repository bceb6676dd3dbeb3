package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"

	"github.com/otelkinesis/otelkinesis"
	"github.com/otelkinesis/otelkinesis/internal/testpeers"
	kinesistrace "github.com/otelkinesis/otelkinesis/trace"
)

// memorySpans is how many spans one op of BenchmarkMemory exports.
const memorySpans = 1_000_000

// memoryConstant is what BenchmarkMemory allows the live heap beyond the backlog's byte
// budget and the process's own before the exporter: the exporter's encoders and the AWS
// SDK's bookkeeping of the requests in flight (BENCHMARKS.md, "Memory").
const memoryConstant float64 = 2 << 20

// BenchmarkMemory exports 1,000,000 spans (the same 512-span batch again and again) to a
// healthy endpoint and to one that stalls every PutRecords request, with the producer's
// default backlog (2000 user records waiting to be sent, 64 MiB of memory held in all:
// aggregates, request bodies, buffers kept for reuse) and with a 16 MiB backlog, and
// reports:
//
//   - peak-heap-MiB: the most heap memory held by objects, live or not yet collected,
//     sampled every millisecond;
//   - peak-live-MiB: the most live heap the garbage collector found after a cycle (which
//     counts as live what was allocated while it ran);
//   - held-live-MiB: the live heap after a full collection once the last export returned,
//     with nothing else running: what the exporter holds then (with the stalled endpoint,
//     a full backlog), the spans and the process's own;
//   - base-live-MiB: the same before the exporter was created;
//   - peak-rss-MiB: the process's peak resident set (VmHWM, reset before the op);
//   - exported-%: spans the exporter accepted (with the stalled endpoint, the rest are
//     refused once the backlog is full: each ExportSpans call waits 5 ms for room and then
//     returns an error naming the spans dropped, as the batch span processor's export
//     timeout would make it do).
//
// The bound these are held to is stated in BENCHMARKS.md; the op fails if held-live-MiB
// breaks it (peak-live-MiB also counts what is garbage by the end of a collection, and
// peak-heap-MiB and peak-rss-MiB the collector's headroom, so only the settled figure is
// checked).
//
//	go test -run '^$' -bench Memory -benchtime=1x -count=3 . | tee results/memory.txt
func BenchmarkMemory(b *testing.B) {
	spans := recordSpans(batchSize, 1)
	for _, c := range []struct {
		endpoint   string
		backlogMiB int64
	}{{"healthy", 64}, {"stalled", 64}, {"stalled", 16}} {
		b.Run(fmt.Sprintf("endpoint=%s/backlog-bytes=%dMiB", c.endpoint, c.backlogMiB), func(b *testing.B) {
			kind := "kinesis"
			if c.endpoint == "stalled" {
				kind = "kinesis-stalled"
			}
			ep := startEndpoint(b, kind)
			// The stalled endpoint's drops are expected: keep them out of the output.
			otel.SetErrorHandler(otel.ErrorHandlerFunc(func(error) {}))
			defer otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { fmt.Fprintln(os.Stderr, err) }))
			ctx := context.Background()
			base := liveAfterGC()
			exp, err := kinesistrace.New(ctx, otelkinesis.WithStreamName(benchStream), otelkinesis.WithEndpointURL(ep.URL),
				otelkinesis.WithAWSConfig(testpeers.Config(ep.URL)), otelkinesis.WithRateLimit(1000),
				otelkinesis.WithBacklogBytes(c.backlogMiB<<20))
			if err != nil {
				b.Fatal(err)
			}
			defer func() {
				sctx, cancel := context.WithTimeout(ctx, time.Second)
				defer cancel()
				_ = exp.Shutdown(sctx) // with the stalled endpoint, what is held is dropped
			}()
			var heap, live, held, rss, exported float64
			for range b.N {
				debug.FreeOSMemory()
				resetPeakRSS()
				stop := sampleHeap()
				sent := 0
				for n := 0; n < memorySpans; n += batchSize {
					batch := spans[:min(batchSize, memorySpans-n)]
					ectx, cancel := ctx, context.CancelFunc(func() {})
					if c.endpoint == "stalled" {
						ectx, cancel = context.WithTimeout(ctx, 5*time.Millisecond)
					}
					err := exp.ExportSpans(ectx, batch)
					cancel()
					if err == nil {
						sent += len(batch)
					} else if c.endpoint == "healthy" || !errors.Is(err, context.DeadlineExceeded) {
						b.Fatal(err)
					}
				}
				held = max(held, liveAfterGC())
				if c.endpoint == "healthy" {
					if err := exp.ForceFlush(ctx); err != nil {
						b.Fatal(err)
					}
				}
				h, l := stop()
				heap, live, rss = max(heap, h), max(live, l), max(rss, peakRSS())
				exported += float64(sent)
			}
			if bound := base + float64(c.backlogMiB<<20) + memoryConstant; held > bound {
				b.Errorf("live heap %.1f MiB with the backlog full, over the bound of %.1f MiB (%.1f MiB before the exporter, %d MiB of backlog, %.0f MiB)",
					held/(1<<20), bound/(1<<20), base/(1<<20), c.backlogMiB, memoryConstant/(1<<20))
			}
			b.ReportMetric(heap/(1<<20), "peak-heap-MiB")
			b.ReportMetric(live/(1<<20), "peak-live-MiB")
			b.ReportMetric(held/(1<<20), "held-live-MiB")
			b.ReportMetric(base/(1<<20), "base-live-MiB")
			b.ReportMetric(rss/(1<<20), "peak-rss-MiB")
			b.ReportMetric(100*exported/float64(b.N*memorySpans), "exported-%")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// sampleHeap samples the heap every millisecond until the returned function is called,
// which returns the peak bytes of heap objects and the peak live heap.
func sampleHeap() func() (heap, live float64) {
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
	var peakHeap, peakLive float64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(samples)
			peakHeap = max(peakHeap, float64(samples[0].Value.Uint64()))
			peakLive = max(peakLive, float64(samples[1].Value.Uint64()))
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() (float64, float64) {
		close(done)
		wg.Wait()
		return peakHeap, peakLive
	}
}

// liveAfterGC runs a full garbage collection and returns the live heap it found.
func liveAfterGC() float64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return float64(s[0].Value.Uint64())
}

// resetPeakRSS resets the kernel's record of the process's peak resident set (Linux).
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS returns the process's peak resident set in bytes since the last reset, 0 where
// the kernel does not say (VmHWM of /proc/self/status).
func peakRSS() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			return kb * 1024
		}
	}
	return 0
}
