package kinesistest_test

import (
	"testing"

	"github.com/otelkinesis/otelkinesis/kinesistest"
)

// kinesistestTarget is the in-process endpoint, with the 5 MiB request limit the suite
// checks (AWS now allows 10 MiB; WithRequestSizeLimit picks either). Each subtest gets a
// server of its own, so the suite runs it whether or not the emulators are there.
func kinesistestTarget() target {
	return target{
		name: "kinesistest",
		endpoint: func(t *testing.T, opts ...kinesistest.Option) string {
			srv := kinesistest.NewServer(append([]kinesistest.Option{kinesistest.WithRequestSizeLimit(5 << 20)}, opts...)...)
			t.Cleanup(srv.Close)
			return srv.URL()
		},
	}
}
