package otelkinesis_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The snippets of TestOptionTypes: each "wrong" one gives a constructor an option of
// another, and names that option, so the test can find it in the compiler's error.
var (
	wrongOptions = map[string]struct{ code, option string }{
		"metric_option_to_trace": {`kinesistrace.New(ctx, kinesismetric.WithTemporalitySelector(nil))`, "WithTemporalitySelector"},
		"log_option_to_trace":    {`kinesistrace.New(ctx, kinesislog.WithPartitionKey(nil))`, "WithPartitionKey"},
		"trace_option_to_log":    {`kinesislog.New(ctx, kinesistrace.WithPartitionKey(nil))`, "WithPartitionKey"},
		"metric_option_to_log":   {`kinesislog.New(ctx, kinesismetric.WithAggregationSelector(nil))`, "WithAggregationSelector"},
		"trace_option_to_metric": {`kinesismetric.New(ctx, kinesistrace.WithPartitionKey(nil))`, "WithPartitionKey"},
		"encoding_to_producer":   {`otelkinesis.NewProducer(ctx, otelkinesis.WithEncoding(otelkinesis.EncodingJSON))`, "WithEncoding"},
		"producer_to_producer":   {`otelkinesis.NewProducer(ctx, otelkinesis.WithProducer(nil))`, "WithProducer"},
		"trace_option_to_producer": {`otelkinesis.NewProducer(ctx, kinesistrace.WithPartitionKey(nil))`,
			"WithPartitionKey"},
		"trace_option_to_sdk":    {`sdk.New(ctx, kinesistrace.WithPartitionKey(nil))`, "WithPartitionKey"},
		"sdk_option_to_trace":    {`kinesistrace.New(ctx, sdk.WithResource(nil))`, "WithResource"},
		"sdk_option_to_producer": {`otelkinesis.NewProducer(ctx, sdk.WithPeriodicReaderOptions())`, "WithPeriodicReaderOptions"},
	}

	// controlOptions compiles: every constructor with options that apply to it.
	controlOptions = `
	p, _ := otelkinesis.NewProducer(ctx, otelkinesis.WithStreamName("s"), otelkinesis.WithBatchCount(100),
		otelkinesis.WithEndpointURL("http://127.0.0.1:4567"), otelkinesis.WithMeterProvider(nil))
	shared := otelkinesis.WithProducer(p)
	traceOpts := []kinesistrace.Option{shared, otelkinesis.WithEncoding(otelkinesis.EncodingJSON),
		otelkinesis.WithMeterProvider(nil), kinesistrace.WithPartitionKey(nil)}
	_, _ = kinesistrace.New(ctx, traceOpts...)
	_, _ = kinesismetric.New(ctx, shared, otelkinesis.WithCompression(otelkinesis.CompressionGzip),
		kinesismetric.WithTemporalitySelector(nil), kinesismetric.WithAggregationSelector(nil))
	_, _ = kinesislog.New(ctx, otelkinesis.WithStreamName("s"), otelkinesis.WithPartitionBy(otelkinesis.PartitionByResource),
		kinesislog.WithPartitionKey(nil))
	_, _ = sdk.New(ctx, otelkinesis.WithStreamName("s"), otelkinesis.WithBatchCount(100),
		otelkinesis.WithEncoding(otelkinesis.EncodingJSON), sdk.WithResource(nil),
		sdk.WithTraceExporterOptions(kinesistrace.WithPartitionKey(nil), otelkinesis.WithCompression(otelkinesis.CompressionGzip)),
		sdk.WithMetricExporterOptions(kinesismetric.WithTemporalitySelector(nil)))`
)

// TestOptionTypes builds small programs against this module in a module of their own: an
// option of one constructor given to another does not compile, and the compiler's error
// names it; a program giving each constructor its own options compiles.
func TestOptionTypes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds programs against the module; not in -short")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	modFile, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}

	// The snippets' module requires what this one requires, at the same versions, so that
	// everything resolves from the module cache.
	dir := t.TempDir()
	mod := regexp.MustCompile(`(?m)^module .*$`).ReplaceAllString(string(modFile), "module example.com/optioncheck")
	mod += "\nrequire github.com/otelkinesis/otelkinesis v0.0.0-00010101000000-000000000000\n" +
		"\nreplace github.com/otelkinesis/otelkinesis => " + filepath.ToSlash(root) + "\n"
	write(t, filepath.Join(dir, "go.mod"), mod)
	write(t, filepath.Join(dir, "go.sum"), string(sum))
	for name, w := range wrongOptions {
		write(t, filepath.Join(dir, "wrong", name, "main.go"), program("_, _ = "+w.code))
	}
	write(t, filepath.Join(dir, "control", "main.go"), program(controlOptions))

	run := func(args ...string) (string, error) {
		cmd := exec.Command(goBin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "GOTOOLCHAIN=local")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	if out, err := run("vet", "./control"); err != nil {
		t.Fatalf("the control program does not compile: %v\n%s", err, out)
	}
	out, err := run("vet", "./wrong/...")
	if err == nil {
		t.Fatalf("every program giving a constructor another's option compiled:\n%s", out)
	}
	for name, w := range wrongOptions {
		var found bool
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, "wrong/"+name+"/main.go") {
				found = true
				if !strings.Contains(line, w.option) || !strings.Contains(line, "does not implement") {
					t.Errorf("%s: the error does not name %s as an option of another type: %s", name, w.option, line)
				}
			}
		}
		if !found {
			t.Errorf("%s compiled: %s\n%s", name, w.code, out)
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("go vet ./wrong/...:\n%s", out)
	}
}

// program returns a main package that imports the module's constructors and runs body.
func program(body string) string {
	return `package main

import (
	"context"

	"github.com/otelkinesis/otelkinesis"
	kinesislog "github.com/otelkinesis/otelkinesis/log"
	kinesismetric "github.com/otelkinesis/otelkinesis/metric"
	"github.com/otelkinesis/otelkinesis/sdk"
	kinesistrace "github.com/otelkinesis/otelkinesis/trace"
)

var (
	_ = otelkinesis.WithStreamName
	_ = kinesislog.New
	_ = kinesismetric.New
	_ = kinesistrace.New
	_ = sdk.New
)

func main() {
	ctx := context.Background()
	` + body + `
}
`
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
