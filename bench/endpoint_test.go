package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"

	"github.com/otelkinesis/otelkinesis/internal/benchendpoint"
	"github.com/otelkinesis/otelkinesis/kinesistest"
)

// endpointEnv makes the test binary serve an endpoint instead of running the benchmarks,
// so that a benchmark measures the exporter's CPU and allocations without the
// endpoint's: "kinesis" serves kinesistest with a stream named "bench" of 64 shards,
// "kinesis-stalled" the same with every PutRecords request held unanswered,
// "kinesis-4-shards" the same stream with 4 shards (fewShards), "otlp" an OTLP/HTTP sink
// that reads and discards every request.
const endpointEnv = "OTELKINESIS_BENCH_ENDPOINT"

// fewShardsEndpoint is the endpoint kind whose "bench" stream has fewShards shards: few
// enough that the traces of one export call share shards.
const (
	fewShardsEndpoint = "kinesis-4-shards"
	fewShards         = 4
)

// benchStream is the stream the kinesis endpoint serves.
const benchStream = "bench"

// payloadUnit is a PUT payload unit, "25 KB": read as 25 KiB (see BENCHMARKS.md).
const payloadUnit = 25 << 10

func TestMain(m *testing.M) {
	if kind := os.Getenv(endpointEnv); kind != "" {
		serveEndpoint(kind)
		return
	}
	// Idle keep-alive connections of the HTTP clients may outlive a test by a moment.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"))
}

// endpointStats is what an endpoint process counts, read through its control channel.
type endpointStats struct {
	// WireBytes is every byte clients sent to the endpoint over TCP: HTTP request lines,
	// headers and bodies.
	WireBytes int64
	// Requests counts HTTP requests (PutRecords calls, OTLP exports).
	Requests int64
	// Records, RecordBytes and Units count the Kinesis records written: how many, their
	// data plus partition key bytes (what Kinesis bills and limits), and their PUT payload
	// units (each record's size rounded up to 25 KiB).
	Records, RecordBytes, Units int64
	// Retried counts records sent in an attempt after the first (the SDK's own retries).
	Retried int64
}

// serveEndpoint runs the endpoint named kind behind a byte-counting TCP proxy, prints the
// proxy's URL, then answers each line "stats" on stdin with a JSON endpointStats line on
// stdout, until stdin closes.
func serveEndpoint(kind string) {
	var st endpointStats
	var backend string
	switch kind {
	case "kinesis", "kinesis-stalled", fewShardsEndpoint:
		srv := kinesistest.NewServer(kinesistest.WithRecordData(false), kinesistest.WithRequestLog(false))
		shards := 64
		if kind == fewShardsEndpoint {
			shards = fewShards
		}
		if _, err := srv.CreateStream(benchStream, shards); err != nil {
			fail(err)
		}
		if kind == "kinesis-stalled" {
			srv.InjectRequests(-1, kinesistest.Stall(), "PutRecords")
		}
		srv.InjectEntryFunc(func(e kinesistest.EntryInfo) kinesistest.EntryFault {
			n := int64(len(e.Data) + len(e.PartitionKey))
			atomic.AddInt64(&st.Records, 1)
			atomic.AddInt64(&st.RecordBytes, n)
			atomic.AddInt64(&st.Units, (n+payloadUnit-1)/payloadUnit)
			if e.Attempt > 1 {
				atomic.AddInt64(&st.Retried, 1)
			}
			return kinesistest.EntryOK
		})
		backend = strings.TrimPrefix(srv.URL(), "http://")
	case "otlp":
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fail(err)
		}
		go func() {
			_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "application/x-protobuf")
				w.Header().Set("Content-Length", "0")
				w.WriteHeader(http.StatusOK)
			}))
		}()
		backend = ln.Addr().String()
	default:
		fail(fmt.Errorf("unknown endpoint %q", kind))
	}
	url := "http://" + countingProxy(backend, &st.WireBytes, &st.Requests)
	fmt.Println(url)
	in := bufio.NewScanner(os.Stdin)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		snap := endpointStats{
			WireBytes: atomic.LoadInt64(&st.WireBytes), Requests: atomic.LoadInt64(&st.Requests),
			Records: atomic.LoadInt64(&st.Records), RecordBytes: atomic.LoadInt64(&st.RecordBytes),
			Units: atomic.LoadInt64(&st.Units), Retried: atomic.LoadInt64(&st.Retried),
		}
		_ = out.Encode(snap)
	}
	os.Exit(0)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

// countingProxy listens on a loopback port and forwards every connection to backend,
// adding the bytes clients send to *wire and each request line seen to *requests.
func countingProxy(backend string, wire, requests *int64) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b, err := net.Dial("tcp", backend)
				if err != nil {
					return
				}
				defer b.Close()
				var wg sync.WaitGroup
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, _ = io.Copy(c, b)
					_ = c.(*net.TCPConn).CloseWrite()
				}()
				_, _ = io.Copy(countWriter{b, wire, requests}, c)
				_ = b.(*net.TCPConn).CloseWrite()
				wg.Wait()
			}()
		}
	}()
	return ln.Addr().String()
}

// countWriter counts what passes through it and the HTTP requests that start in it.
type countWriter struct {
	w               io.Writer
	bytes, requests *int64
}

func (c countWriter) Write(p []byte) (int, error) {
	atomic.AddInt64(c.bytes, int64(len(p)))
	// Every request of these clients is a POST; a body holding "POST / HTTP/1.1" at a
	// read boundary would be counted twice, which base64 and protobuf bodies do not hold.
	if n := strings.Count(string(p), "POST /"); n > 0 {
		atomic.AddInt64(c.requests, int64(n))
	}
	return c.w.Write(p)
}

// endpoint is a running endpoint process.
type endpoint struct{ *benchendpoint.Child }

// startEndpoint runs an endpoint of kind in a child process; it stops when the benchmark
// ends.
func startEndpoint(tb testing.TB, kind string) *endpoint {
	tb.Helper()
	return &endpoint{benchendpoint.StartChild(tb, endpointEnv+"="+kind)}
}

// Stats asks the endpoint process for its counters.
func (e *endpoint) Stats(tb testing.TB) endpointStats {
	tb.Helper()
	if _, err := io.WriteString(e.In, "stats\n"); err != nil {
		tb.Fatal(err)
	}
	line, err := e.Out.ReadBytes('\n')
	if err != nil {
		tb.Fatal(err)
	}
	var s endpointStats
	if err := json.Unmarshal(line, &s); err != nil {
		tb.Fatal(err)
	}
	return s
}

// sub returns s minus an earlier reading.
func (s endpointStats) sub(o endpointStats) endpointStats {
	return endpointStats{WireBytes: s.WireBytes - o.WireBytes, Requests: s.Requests - o.Requests,
		Records: s.Records - o.Records, RecordBytes: s.RecordBytes - o.RecordBytes,
		Units: s.Units - o.Units, Retried: s.Retried - o.Retried}
}
