package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// Exit codes, as the command's help lists them.
const (
	exitOK        = 0 // done, or stopped by an interrupt
	exitFailure   = 1 // could not go on: AWS, the OTLP endpoint, the checkpoint file
	exitUsage     = 2 // bad command line
	exitUndecoded = 3 // finished, but some records could not be read (reported on stderr)
)

const usageText = `otelkinesis reads the OpenTelemetry telemetry on an Amazon Kinesis data stream.

Usage:
  otelkinesis tail    [flags] STREAM   print telemetry as it arrives, readable or as OTLP/JSON
  otelkinesis forward [flags] STREAM   send it to an OTLP/HTTP endpoint, with checkpoints
  otelkinesis stats   [flags] STREAM   records, aggregation, bytes and cost per shard and signal
  otelkinesis help COMMAND             the flags of one command
  otelkinesis version                  the version of otelkinesis it was built from (also --version)

STREAM is a stream name or ARN. The AWS region and credentials come from the AWS
default chain (AWS_REGION, AWS_PROFILE, ...), or --region (a region name such as
us-east-1); --endpoint points at a local Kinesis.

Examples:
  otelkinesis tail telemetry                          follow new telemetry on every shard
  otelkinesis tail --from 15m --follow=false telemetry
  otelkinesis tail --output json telemetry | jq .     one OTLP/JSON request per line
  otelkinesis forward --to http://localhost:4318 --checkpoint telemetry.ckpt telemetry
  otelkinesis stats --from 1h telemetry

Exit status: 0 done (or interrupted), 1 failure, 2 bad command line,
3 finished but some records could not be read, or (forward) were of a signal the
receiver refuses (each one is named on stderr).
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs the command line args and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "tail":
		return runTail(ctx, rest, stdout, stderr)
	case "forward":
		return runForward(ctx, rest, stdout, stderr)
	case "stats":
		return runStats(ctx, rest, stdout, stderr)
	case "version", "-version", "--version":
		fmt.Fprintf(stdout, "otelkinesis %s\n", moduleVersion(debug.ReadBuildInfo))
		return exitOK
	case "help", "-h", "-help", "--help":
		if len(rest) == 1 {
			return run(ctx, []string{rest[0], "--help"}, stdout, stderr)
		}
		fmt.Fprint(stdout, usageText)
		return exitOK
	}
	fmt.Fprintf(stderr, "otelkinesis: unknown command %q\n\n%s", cmd, usageText)
	return exitUsage
}

// moduleVersion returns the version of the otelkinesis module the command was built
// from, as the Go toolchain recorded it in the binary (v1.4.0 after go install
// ...@v1.4.0), or "(devel)" when it recorded none (a build from a work tree).
func moduleVersion(readBuildInfo func() (*debug.BuildInfo, bool)) string {
	if info, ok := readBuildInfo(); ok && info != nil && info.Main.Version != "" {
		return info.Main.Version
	}
	return "(devel)"
}

// parseFlags parses args into fs, taking the one positional argument (the stream) from
// anywhere on the line, so that flags may come after it. It returns the positional
// argument ("" if none) and an exit code when the command must stop (help or a usage
// error), else -1.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) (string, int) {
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" || a == "--h" {
			fs.SetOutput(stdout) // asked for: help goes to stdout, for a pager
		}
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return "", exitOK
			}
			return "", exitUsage
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if len(pos) > 1 {
		fmt.Fprintf(fs.Output(), "otelkinesis %s: one stream expected, got %q\n", fs.Name(), pos)
		return "", exitUsage
	}
	if len(pos) == 1 {
		return pos[0], -1
	}
	return "", -1
}

// usageFunc prints a command's help: what it does, then its flags.
func usageFunc(fs *flag.FlagSet, summary string) func() {
	return func() {
		fmt.Fprint(fs.Output(), summary)
		fmt.Fprintln(fs.Output(), "\nFlags:")
		fs.PrintDefaults()
		fmt.Fprintln(fs.Output(), "\nExit status: 0 done (or interrupted), 1 failure, 2 bad command line, 3 finished but some records could not be read"+
			"\n(or, for forward, were of a signal the receiver refuses).")
	}
}
