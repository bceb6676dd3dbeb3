package main

import (
	"strings"
	"testing"

	"github.com/otelkinesis/otelkinesis/lambdaforward"
)

func TestOptions(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	opts, err := options(env(map[string]string{"OTELKINESIS_FORMAT": "traces/otlp_proto/gzip", "OTELKINESIS_SKIP_UNDECODABLE": "true"}))
	if err != nil || len(opts) != 2 {
		t.Fatalf("options: %d, %v", len(opts), err)
	}
	f, err := lambdaforward.New(append(opts, lambdaforward.WithEndpoint("http://127.0.0.1:4318"))...)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, bad := range []map[string]string{
		{"OTELKINESIS_FORMAT": "traces/otlp_proto"},
		{"OTELKINESIS_FORMAT": "traces/avro/none"},
		{"OTELKINESIS_SKIP_UNDECODABLE": "yes"},
	} {
		if _, err := options(env(bad)); err == nil || !strings.Contains(err.Error(), "OTELKINESIS_") {
			t.Errorf("%v: %v, want an error naming the variable", bad, err)
		}
	}
	opts, _ = options(env(map[string]string{"OTELKINESIS_FORMAT": "profiles/otlp_proto/none"}))
	if _, err := lambdaforward.New(append(opts, lambdaforward.WithEndpoint("http://127.0.0.1:4318"))...); err == nil {
		t.Error("an unknown signal was accepted")
	}
}
