package testpeers

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

func TestRequired(t *testing.T) {
	for _, tc := range []struct {
		require, ci string
		want        bool
	}{
		{"", "", false},
		{"1", "", true},
		{"0", "", false},
		{"", "true", true},
		{"", "TRUE", true},
		{"", "false", false},
		{"1", "false", true},
	} {
		t.Run(fmt.Sprintf("%s=%q CI=%q", EnvRequire, tc.require, tc.ci), func(t *testing.T) {
			t.Setenv(EnvRequire, tc.require)
			t.Setenv("CI", tc.ci)
			if got := Required(); got != tc.want {
				t.Errorf("Required() = %v, want %v", got, tc.want)
			}
			msg, fail := missingPeer("kinesalite", EnvKinesalite)
			if fail != tc.want {
				t.Errorf("missingPeer fails = %v, want %v", fail, tc.want)
			}
			for _, want := range []string{"kinesalite is not running", EnvKinesalite, "make peers-up", ". .peers/dev/env", "make test"} {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q does not mention %q", msg, want)
				}
			}
		})
	}
}

// recordTB stands in for the test a helper is handed: Skip and Fatal are noted and end
// the goroutine, as in package testing, but not the test that checks the helper (see
// [recordTB.run]). Other methods are not called by the helpers under test.
type recordTB struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (r *recordTB) Helper() {}

func (r *recordTB) Skip(args ...any) {
	r.skipped, r.msg = true, fmt.Sprint(args...)
	runtime.Goexit()
}

func (r *recordTB) Fatal(args ...any) {
	r.failed, r.msg = true, fmt.Sprint(args...)
	runtime.Goexit()
}

// run calls fn with r on a goroutine of its own and waits for it to end.
func (r *recordTB) run(fn func(tb testing.TB)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(r)
	}()
	<-done
}

// TestMissingPeerSkipsOrFails: a peer that is not running skips the test outside
// `make test` and fails it under `make test` or in CI; a running one is returned.
func TestMissingPeerSkipsOrFails(t *testing.T) {
	for _, tc := range []struct {
		name, require, ci string
		wantFail          bool
	}{
		{"plain go test", "", "", false},
		{"make test", "1", "", true},
		{"CI", "", "true", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvRequire, tc.require)
			t.Setenv("CI", tc.ci)
			t.Setenv(EnvKinesisLocal, "")
			rec := &recordTB{}
			rec.run(func(tb testing.TB) { KinesisLocal(tb) })
			if rec.failed != tc.wantFail || rec.skipped == tc.wantFail {
				t.Errorf("failed %v, skipped %v; want failed %v", rec.failed, rec.skipped, tc.wantFail)
			}
			if !strings.Contains(rec.msg, EnvKinesisLocal) {
				t.Errorf("message %q does not name %s", rec.msg, EnvKinesisLocal)
			}

			t.Setenv(EnvKinesisLocal, "http://127.0.0.1:1234")
			rec = &recordTB{}
			var p Peer
			rec.run(func(tb testing.TB) { p = KinesisLocal(tb) })
			if rec.failed || rec.skipped {
				t.Errorf("running peer: failed %v, skipped %v (%s)", rec.failed, rec.skipped, rec.msg)
			}
			if p.Name != "kinesis-local" || p.Endpoint != "http://127.0.0.1:1234" {
				t.Errorf("running peer = %+v", p)
			}
		})
	}
}
