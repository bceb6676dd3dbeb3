package kinesistest_test

import (
	"testing"

	"github.com/otelkinesis/otelkinesis/kinesistest"
)

// kinesistestTargets is the in-process endpoint, with the 5 MiB request limit the
// suite checks (AWS now allows 10 MiB; WithRequestSizeLimit picks either).
func kinesistestTargets(t *testing.T) []target {
	t.Helper()
	srv := kinesistest.NewServer(kinesistest.WithRequestSizeLimit(5 << 20))
	t.Cleanup(srv.Close)
	return []target{{name: "kinesistest", endpoint: srv.URL()}}
}
