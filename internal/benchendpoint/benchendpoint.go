// Package benchendpoint runs the endpoints of the exporter benchmarks in a child process,
// so that a benchmark's CPU time and allocations are the exporter's own and not the
// endpoint's: the test binary re-executes itself as the endpoint.
//
// A test package that uses it calls MaybeServe first thing in TestMain.
package benchendpoint

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

// env makes the test binary serve an endpoint instead of running tests.
const env = "OTELKINESIS_BENCH_ENDPOINT"

// Endpoint kinds.
const (
	// Kinesis is kinesistest with a stream named Stream of Shards shards, keeping no
	// record data and no request log.
	Kinesis = "kinesis"
	// OTLP is an OTLP/HTTP sink that reads and discards every request.
	OTLP = "otlp"
)

// The Kinesis endpoint's stream: many shards, so that the producer's per-shard rate
// limiter does not set a benchmark's pace.
const (
	Stream = "bench"
	Shards = 64
)

// MaybeServe serves the endpoint the environment asks for and exits, or returns at once
// when it asks for none.
func MaybeServe() {
	kind := os.Getenv(env)
	if kind == "" {
		return
	}
	var url string
	switch kind {
	case Kinesis:
		srv := kinesistest.NewServer(kinesistest.WithRecordData(false), kinesistest.WithRequestLog(false))
		if _, err := srv.CreateStream(Stream, Shards); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		url = srv.URL()
	case OTLP:
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
		fmt.Fprintf(os.Stderr, "benchendpoint: unknown endpoint %q\n", kind)
		os.Exit(2)
	}
	fmt.Println(url)
	_, _ = io.Copy(io.Discard, os.Stdin) // serve until the parent closes our stdin
	os.Exit(0)
}

// Start runs an endpoint of kind in a child process and returns its URL; the child stops
// when the test or benchmark ends.
func Start(tb testing.TB, kind string) string {
	tb.Helper()
	return StartChild(tb, env+"="+kind).URL
}

// Child is an endpoint served by the test binary in a child process.
type Child struct {
	// URL is the first line the child printed: the endpoint's URL.
	URL string
	// In is the child's standard input: closing it stops the child.
	In io.WriteCloser
	// Out reads the rest of the child's standard output, for endpoints that answer
	// questions over stdin and stdout (such as a benchmark's counters).
	Out *bufio.Reader
}

// StartChild re-executes the test binary with the extra environment variable setting
// (NAME=VALUE), which its TestMain must turn into serving an endpoint that prints its URL
// on the first line and serves until its stdin closes. The child stops when the test or
// benchmark ends.
func StartChild(tb testing.TB, setting string) *Child {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), setting)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	})
	c := &Child{In: stdin, Out: bufio.NewReader(stdout)}
	line, err := c.Out.ReadString('\n')
	if err != nil {
		tb.Fatalf("benchendpoint: endpoint process (%s): %v", setting, err)
	}
	c.URL = strings.TrimSpace(line)
	return c
}
