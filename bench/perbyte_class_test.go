package bench

import (
	"bytes"
	"math"
	"testing"

	"github.com/google/pprof/profile"
)

// TestCPUShares runs cpuShares on a profile built by hand: each sample goes to the class
// of its innermost classed frame, inlined frames included, and the shares are of the
// CPU values, not of the sample counts.
func TestCPUShares(t *testing.T) {
	fns := map[string]*profile.Function{}
	fn := func(name string) *profile.Function {
		if f, ok := fns[name]; ok {
			return f
		}
		f := &profile.Function{ID: uint64(len(fns) + 1), Name: name}
		fns[name] = f
		return f
	}
	var locs []*profile.Location
	loc := func(names ...string) *profile.Location { // innermost (inlined) first
		l := &profile.Location{ID: uint64(len(locs) + 1)}
		for _, n := range names {
			l.Line = append(l.Line, profile.Line{Function: fn(n)})
		}
		locs = append(locs, l)
		return l
	}
	const otlpwire = "github.com/otelkinesis/otelkinesis/internal/otlpwire."
	const kpl = "github.com/otelkinesis/otelkinesis/internal/kpl."
	const putrecords = "github.com/otelkinesis/otelkinesis/internal/putrecords."
	md5 := loc("crypto/md5.block")
	seal := loc(kpl + "(*Aggregator).AppendTo")
	memmove := loc("runtime.memmove")
	b64 := loc(putrecords+"putBase64Group", putrecords+"encodeBase64") // inlined
	body := loc(putrecords + "AppendBody")
	sha := loc("crypto/internal/fips140/sha256.blockSHANI")
	signer := loc("github.com/aws/aws-sdk-go-v2/aws/signer/v4.(*Signer).SignHTTP")
	encode := loc(otlpwire + "appendSpan")
	escape := loc("github.com/otelkinesis/otelkinesis/internal/jsonstr.Append")
	mark := loc("runtime.gcBgMarkWorker")
	write := loc("syscall.write")
	futex := loc("runtime.futex")
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		PeriodType: &profile.ValueType{Type: "cpu", Unit: "nanoseconds"},
		Period:     10_000_000,
		Location:   locs,
	}
	for _, f := range fns {
		p.Function = append(p.Function, f)
	}
	add := func(cpu int64, stack ...*profile.Location) {
		p.Sample = append(p.Sample, &profile.Sample{Location: stack, Value: []int64{1, cpu}})
	}
	add(30, md5, seal)       // MD5 under the producer: md5
	add(10, memmove, seal)   // a copy in the producer: producer
	add(5, b64, body)        // base64, inlined: base64
	add(2, memmove, body)    // the body's own copies: body
	add(18, sha, signer)     // signing's hash: sha256
	add(5, signer)           // the signer's own work: sdk
	add(15, memmove, encode) // the encoder: encode
	add(3, escape, encode)   // a shared helper: its caller's class
	add(2, escape, body)
	add(4, mark)  // gc
	add(4, write) // transport
	add(2, futex) // nothing classed: rest
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	share, err := cpuShares(&buf)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"md5": 30, "base64": 5, "sha256": 18, "encode": 18, "producer": 10, "body": 4,
		"exporter": 0, "sdk": 5, "transport": 4, "gc": 4, "rest": 2}
	for i, c := range cpuClasses {
		if w := want[c.name] / 100; math.Abs(share[i]-w) > 1e-9 {
			t.Errorf("%s: share %.3f, want %.3f", c.name, share[i], w)
		}
	}
	if _, err := cpuShares(bytes.NewReader(nil)); err == nil {
		t.Error("cpuShares of no profile: no error")
	}
}
