package config_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/otelkinesis/otelkinesis"
	"github.com/otelkinesis/otelkinesis/internal/config"
	kinesislog "github.com/otelkinesis/otelkinesis/log"
	kinesismetric "github.com/otelkinesis/otelkinesis/metric"
	kinesistrace "github.com/otelkinesis/otelkinesis/trace"
)

// TestOptionNames: every option of the public packages carries its own function's name,
// sets only settings config knows, and is the option errors about those settings' variables
// name; and every With function of the public packages is checked here.
func TestOptionNames(t *testing.T) {
	options := map[string][]*config.Option{
		"otelkinesis.WithStreamName":          shared(otelkinesis.WithStreamName("s")),
		"otelkinesis.WithStreamARN":           shared(otelkinesis.WithStreamARN("arn:aws:kinesis:us-east-1:1:stream/s")),
		"otelkinesis.WithEndpointURL":         shared(otelkinesis.WithEndpointURL("http://127.0.0.1:1")),
		"otelkinesis.WithEndpoint":            shared(otelkinesis.WithEndpoint("http://127.0.0.1:1")),
		"otelkinesis.WithRegion":              shared(otelkinesis.WithRegion("us-east-1")),
		"otelkinesis.WithRole":                shared(otelkinesis.WithRole("arn:aws:iam::1:role/r", "x")),
		"otelkinesis.WithAWSConfig":           shared(otelkinesis.WithAWSConfig(aws.Config{})),
		"otelkinesis.WithKinesisClient":       shared(otelkinesis.WithKinesisClient(nil)),
		"otelkinesis.WithEncoding":            exporter(otelkinesis.WithEncoding(otelkinesis.EncodingJSON)),
		"otelkinesis.WithCompression":         exporter(otelkinesis.WithCompression(otelkinesis.CompressionGzip)),
		"otelkinesis.WithPartitionBy":         exporter(otelkinesis.WithPartitionBy(otelkinesis.PartitionByRandom)),
		"otelkinesis.WithAggregateBatchCount": shared(otelkinesis.WithAggregateBatchCount(1)),
		"otelkinesis.WithAggregateBatchSize":  shared(otelkinesis.WithAggregateBatchSize(1)),
		"otelkinesis.WithBatchSize":           shared(otelkinesis.WithBatchSize(1)),
		"otelkinesis.WithBatchCount":          shared(otelkinesis.WithBatchCount(1)),
		"otelkinesis.WithBacklogCount":        shared(otelkinesis.WithBacklogCount(1)),
		"otelkinesis.WithBacklogBytes":        shared(otelkinesis.WithBacklogBytes(1 << 20)),
		"otelkinesis.WithFlushInterval":       shared(otelkinesis.WithFlushInterval(1)),
		"otelkinesis.WithMaxConnections":      shared(otelkinesis.WithMaxConnections(1)),
		"otelkinesis.WithMaxRetries":          shared(otelkinesis.WithMaxRetries(1)),
		"otelkinesis.WithMaxBackoff":          shared(otelkinesis.WithMaxBackoff(1)),
		"otelkinesis.WithoutStartupCheck":     shared(otelkinesis.WithoutStartupCheck()),
		"otelkinesis.WithRecordTTL":           shared(otelkinesis.WithRecordTTL(1)),
		"otelkinesis.WithRequestTimeout":      shared(otelkinesis.WithRequestTimeout(1)),
		"otelkinesis.WithRateLimit":           shared(otelkinesis.WithRateLimit(1)),
		"otelkinesis.WithAggregation":         shared(otelkinesis.WithAggregation(false)),
		"otelkinesis.WithMeterProvider":       shared(otelkinesis.WithMeterProvider(nil)),
		"otelkinesis.WithProducer":            exporter(otelkinesis.WithProducer(nil)),
		"trace.WithPartitionKey":              config.TraceOptions([]kinesistrace.Option{kinesistrace.WithPartitionKey(nil)}),
		"metric.WithTemporalitySelector":      config.MetricOptions([]kinesismetric.Option{kinesismetric.WithTemporalitySelector(nil)}),
		"metric.WithAggregationSelector":      config.MetricOptions([]kinesismetric.Option{kinesismetric.WithAggregationSelector(nil)}),
		"log.WithPartitionKey":                config.LogOptions([]kinesislog.Option{kinesislog.WithPartitionKey(nil)}),
	}
	for name, opts := range options {
		_, fn, _ := strings.Cut(name, ".")
		for _, o := range opts {
			if o.Name != fn {
				t.Errorf("%s calls itself %s in errors", name, o.Name)
			}
			if len(o.Settings) == 0 {
				t.Errorf("%s names no setting", name)
			}
			for _, s := range o.Settings {
				option, ok := config.SettingOption(s)
				switch {
				case !ok:
					t.Errorf("%s sets %q, which config does not know", name, s)
				case option != fn && fn != "WithEndpoint": // the deprecated name of WithEndpointURL
					t.Errorf("errors about %q name %s, not %s", s, option, fn)
				}
			}
			c := config.Default(config.Traces)
			o.Set(&c)
		}
	}

	// Every With function of the public packages is in the list above.
	for pkg, dir := range map[string]string{"otelkinesis": "../..", "trace": "../../trace", "metric": "../../metric", "log": "../../log"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range files {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range f.Decls {
				if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && strings.HasPrefix(fd.Name.Name, "With") {
					if _, ok := options[pkg+"."+fd.Name.Name]; !ok {
						t.Errorf("%s.%s (%s) is not checked here", pkg, fd.Name.Name, filepath.Base(file))
					}
				}
			}
		}
	}
}

func shared(o otelkinesis.Option) []*config.Option {
	return append(config.ProducerOptions([]otelkinesis.Option{o}), config.MetricOptions([]otelkinesis.Option{o})...)
}

func exporter(o otelkinesis.ExporterOption) []*config.Option {
	return append(config.TraceOptions([]otelkinesis.ExporterOption{o}), config.LogOptions([]otelkinesis.ExporterOption{o})...)
}
