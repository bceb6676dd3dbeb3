package otelkinesis_test

import (
	"regexp"
	"testing"

	"github.com/otelkinesis/otelkinesis"
)

// TestVersion: the version is a semantic version without a "v", as instrumentation scope
// versions are written.
func TestVersion(t *testing.T) {
	if !regexp.MustCompile(`^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$`).MatchString(otelkinesis.Version) {
		t.Errorf("Version = %q, want a semantic version such as 1.2.3", otelkinesis.Version)
	}
}
