package trace_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/otelkinesis/otelkinesis/kinesistest"
)

// endpointProcessEnv makes the test binary serve an endpoint instead of running tests,
// so that benchmarks can measure the exporter's CPU without the endpoint's: "kinesis"
// serves kinesistest with a stream "bench" of 64 shards, "otlp" an OTLP/HTTP sink that
// discards what it gets.
const endpointProcessEnv = "OTELKINESIS_BENCH_ENDPOINT"

// serveEndpoint runs the endpoint named kind, prints its URL on stdout and serves until
// stdin closes.
func serveEndpoint(kind string) {
	var url string
	switch kind {
	case "kinesis":
		srv := kinesistest.NewServer(kinesistest.WithRecordData(false), kinesistest.WithRequestLog(false))
		if _, err := srv.CreateStream("bench", 64); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		url = srv.URL()
	case "otlp":
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		go func() {
			_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "application/x-protobuf")
				w.WriteHeader(http.StatusOK)
			}))
		}()
		url = "http://" + ln.Addr().String()
	default:
		fmt.Fprintf(os.Stderr, "unknown endpoint %q\n", kind)
		os.Exit(2)
	}
	fmt.Println(url)
	_, _ = io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// startEndpoint runs an endpoint of kind in a child process and returns its URL; the child
// stops when the benchmark ends.
func startEndpoint(b *testing.B, kind string) string {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), endpointProcessEnv+"="+kind)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("endpoint process: %v", err)
	}
	return strings.TrimSpace(line)
}
