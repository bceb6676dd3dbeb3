package otelkinesis_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/otelkinesis/otelkinesis/internal/config"
)

// TestVariablesDocumented: the documentation of packages trace, metric and log lists every
// variable its exporter reads, and no other; the README's settings table names each.
func TestVariablesDocumented(t *testing.T) {
	// A name, or a pattern of names (OTEL_EXPORTER_KINESIS_TRACES_<NAME>, ..._TRACES_*).
	variable := regexp.MustCompile(`OTEL_EXPORTER_KINESIS_[A-Z_]*[A-Z](_[*<])?`)
	for pkg, signal := range map[string]config.Signal{"trace": config.Traces, "metric": config.Metrics, "log": config.Logs} {
		doc, err := os.ReadFile(filepath.Join(pkg, "doc.go"))
		if err != nil {
			t.Fatal(err)
		}
		want := config.Variables(signal)
		for _, v := range want {
			if !regexp.MustCompile(`\b` + v + `\b`).Match(doc) {
				t.Errorf("%s/doc.go does not list %s", pkg, v)
			}
		}
		for _, v := range variable.FindAllString(string(doc), -1) {
			if !strings.HasSuffix(v, "_*") && !strings.HasSuffix(v, "_<") && !slices.Contains(want, v) {
				t.Errorf("%s/doc.go names %s, which the exporter does not read", pkg, v)
			}
		}
	}

	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var table []string
	for _, line := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(line, "| ") {
			table = append(table, line)
		}
	}
	for _, v := range append(config.Variables(""), "OTEL_EXPORTER_KINESIS_METRICS_TEMPORALITY_PREFERENCE") {
		name := "`" + strings.TrimPrefix(v, config.EnvPrefix) + "`"
		if !slices.ContainsFunc(table, func(line string) bool { return strings.Contains(line, name) }) {
			t.Errorf("the README's settings table has no row for %s", v)
		}
	}
}
