package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/internal/plural"
)

const tailSummary = `Usage: otelkinesis tail [flags] STREAM

Follows every shard of STREAM and prints the telemetry it carries: each user record as a
header line "[shard] SIGNAL from SERVICE", then a span tree per trace, a line per metric
data point, or a line per log record. With --output json it prints each OTLP request as
one line of OTLP/JSON instead, for jq or a file.

Shards are read concurrently, a reshard's children after their parents, so the order
holds within a shard. Records that cannot be read are named on stderr and skipped.
Stop with Ctrl-C; with --follow=false tail stops by itself once every shard is read.
`

func runTail(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tail", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c commonFlags
	c.register(fs, "latest")
	output := fs.String("output", "text", "text (readable lines) or json (one OTLP/JSON request per line)")
	follow := fs.Bool("follow", true, "keep waiting for new records; false stops once every shard is read to its end")
	fs.Usage = usageFunc(fs, tailSummary)
	pos, code := parseFlags(fs, args, stdout)
	if code >= 0 {
		return code
	}
	stream, err := c.check(pos)
	if err == nil && *output != "text" && *output != "json" {
		err = fmt.Errorf("--output %q: want text or json", *output)
	}
	var from startPosition
	if err == nil {
		from, err = parseFrom(c.from, time.Now())
	}
	var dopts []consumer.DecodeOption
	if err == nil {
		dopts, err = c.decodeOptions()
	}
	if err != nil {
		fmt.Fprintf(stderr, "otelkinesis tail: %v\n", err)
		return exitUsage
	}
	client, err := c.kinesisClient(ctx, stream)
	if err != nil {
		fmt.Fprintf(stderr, "otelkinesis tail: %v\n", err)
		return exitFailure
	}
	dec, err := consumer.NewDecoder(dopts...)
	if err != nil {
		fmt.Fprintf(stderr, "otelkinesis tail: %v\n", err)
		return exitUsage
	}
	defer dec.Close()
	reader, err := consumer.NewReader(dec)
	if err != nil {
		fmt.Fprintf(stderr, "otelkinesis tail: %v\n", err)
		return exitFailure
	}

	var mu sync.Mutex
	out := bufio.NewWriter(stdout)
	failed := 0
	w := &walker{
		api: client, stream: stream, from: from, follow: *follow,
		callTimeout: c.callTimeout, poll: c.poll, limit: int32(c.limit),
		warn: func(format string, a ...any) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(stderr, "otelkinesis tail: "+format+"\n", a...)
		},
		handle: func(ctx context.Context, b batch) error {
			res := reader.ReadRecords(b.shard, b.records)
			defer res.Release() // printed before it returns; the reader reuses the memory
			mu.Lock()
			defer mu.Unlock()
			for _, e := range res.Errors {
				failed++
				fmt.Fprintf(stderr, "otelkinesis tail: skipped: %v\n", e)
			}
			for _, r := range res.Records {
				if *output == "json" {
					js, err := r.Telemetry.MarshalJSON()
					if err != nil {
						failed++
						fmt.Fprintf(stderr, "otelkinesis tail: skipped: shard %s, sequence number %s, sub-sequence %d: OTLP/JSON: %v\n",
							r.Shard, r.SequenceNumber, r.SubSequenceNumber, err)
						continue
					}
					out.Write(js)
					out.WriteByte('\n')
				} else {
					renderText(out, r)
				}
			}
			return out.Flush()
		},
	}
	err = w.run(ctx)
	mu.Lock()
	defer mu.Unlock()
	out.Flush()
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "otelkinesis tail: %v\n", err)
		return exitFailure
	case failed > 0:
		fmt.Fprintf(stderr, "otelkinesis tail: %s could not be read (named above)\n", plural.Count(failed, "record"))
		return exitUndecoded
	}
	return exitOK
}
