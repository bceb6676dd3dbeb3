package aggregation_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
	"github.com/otelkinesis/otelkinesis/internal/testpeers"
)

// The tests in this file check the codec against aws-kinesis-agg, the KPL
// project's Node module (an independent reader and writer of the format),
// through testdata/node/kplpeer.js. They skip unless the Node peers are
// installed (OTELKINESIS_PEERS_DIR) and fail if they are required but absent.

// peerRecord is a user record as kplpeer.js takes and returns it.
type peerRecord struct {
	PartitionKey         string `json:"partitionKey"`
	ExplicitHashKey      string `json:"explicitHashKey,omitempty"`
	ExplicitPartitionKey string `json:"explicitPartitionKey,omitempty"` // deaggregateSync's name for it
	SequenceNumber       string `json:"sequenceNumber,omitempty"`
	SubSequenceNumber    *int   `json:"subSequenceNumber,omitempty"`
	Data                 string `json:"data"` // base64
}

// peerDeaggregated is kplpeer.js's reply for one Kinesis record.
type peerDeaggregated struct {
	Error       *string      `json:"error"`
	UserRecords []peerRecord `json:"userRecords"`
	Decoded     []struct {
		HasExplicitHashKeyIndex bool `json:"hasExplicitHashKeyIndex"`
		Tags                    []struct {
			Key      string `json:"key"`
			Value    string `json:"value"`
			HasValue bool   `json:"hasValue"`
		} `json:"tags"`
	} `json:"decoded"`
}

// runPeer sends one request to kplpeer.js and decodes its reply into reply.
func runPeer(t *testing.T, req any, reply any) {
	t.Helper()
	modules := testpeers.NodeModules(t)
	node := testpeers.Node(t)
	in, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), node, filepath.Join("testdata", "node", "kplpeer.js"))
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kplpeer.js: %v\n%s", err, stderr.String())
	}
	if err := json.Unmarshal(out, reply); err != nil {
		t.Fatalf("kplpeer.js reply: %v\n%.500s", err, out)
	}
}

// inputRecord is one user record given to an aggregator.
type inputRecord struct {
	pk, ehk string
	data    []byte
	tags    []aggregation.Tag
}

// randomInputs returns n user records: unicode keys of up to 256
// characters, repeated keys, explicit hash keys, empty and 100 KB data, and
// (if withTags) up to 10 tags, some without a value.
func randomInputs(r *rand.Rand, n int, withTags bool) []inputRecord {
	chars := []string{"a", "Z", "7", "-", "é", "Ж", "語", "한", "😀", "𝄞"}
	key := func(max int) string {
		var b strings.Builder
		for range 1 + r.IntN(max) {
			b.WriteString(chars[r.IntN(len(chars))])
		}
		return b.String()
	}
	shared := []string{key(256), key(4)}
	out := make([]inputRecord, n)
	for i := range out {
		in := inputRecord{pk: key(256)}
		if r.IntN(3) == 0 {
			in.pk = shared[r.IntN(len(shared))]
		}
		if r.IntN(3) == 0 {
			in.ehk = aggregation.HashKey{Hi: r.Uint64(), Lo: r.Uint64()}.String()
		}
		size := r.IntN(300)
		if r.IntN(8) == 0 {
			size = 0
		} else if r.IntN(20) == 0 {
			size = 100_000
		}
		in.data = make([]byte, size)
		for j := range in.data {
			in.data[j] = byte(r.Uint32())
		}
		for j := range r.IntN(11) {
			if !withTags {
				break
			}
			tg := aggregation.Tag{Key: "k" + strconv.Itoa(j) + key(20)}
			if r.IntN(3) > 0 {
				tg.Value = key(40)
			}
			in.tags = append(in.tags, tg)
		}
		out[i] = in
	}
	return out
}

func encode(ins []inputRecord) []byte {
	var a aggregation.Aggregator
	for _, in := range ins {
		a.Add(in.pk, in.ehk, in.data, in.tags)
	}
	return a.AppendTo(nil)
}

// TestNodeDeaggregatesOurRecords has aws-kinesis-agg's deaggregateSync, with
// checksums on, read the golden files and random aggregates we wrote.
func TestNodeDeaggregatesOurRecords(t *testing.T) {
	type kinesisRecord struct {
		PartitionKey   string `json:"partitionKey"`
		SequenceNumber string `json:"sequenceNumber"`
		Data           string `json:"data"`
	}
	var blobs [][]byte
	golden, _ := filepath.Glob(filepath.Join("testdata", "golden", "*.kpl"))
	for _, g := range golden {
		b, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		blobs = append(blobs, b)
	}
	r := rand.New(rand.NewPCG(21, 22))
	for range 40 {
		blobs = append(blobs, encode(randomInputs(r, 1+r.IntN(40), true)))
	}
	corrupt := bytes.Clone(blobs[len(blobs)-1])
	corrupt[len(corrupt)-1] ^= 1
	blobs = append(blobs, corrupt)

	var req struct {
		Mode    string          `json:"mode"`
		Records []kinesisRecord `json:"records"`
	}
	req.Mode = "deaggregate"
	for i, b := range blobs {
		req.Records = append(req.Records, kinesisRecord{PartitionKey: "outer", SequenceNumber: strconv.Itoa(i),
			Data: base64.StdEncoding.EncodeToString(b)})
	}
	var reply []peerDeaggregated
	runPeer(t, req, &reply)
	if len(reply) != len(blobs) {
		t.Fatalf("%d replies for %d records", len(reply), len(blobs))
	}

	last := len(blobs) - 1
	if reply[last].Error == nil || !strings.Contains(*reply[last].Error, "checksum") {
		t.Errorf("aws-kinesis-agg accepted a record with a bad digest: %+v", reply[last])
	}
	for i, b := range blobs[:last] {
		got := reply[i]
		if got.Error != nil {
			t.Fatalf("record %d: aws-kinesis-agg: %s", i, *got.Error)
		}
		want, err := consumer.Deaggregate(b, "outer")
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if len(got.UserRecords) != len(want) || len(got.Decoded) != len(want) {
			t.Fatalf("record %d: aws-kinesis-agg read %d user records, want %d", i, len(got.UserRecords), len(want))
		}
		for j, w := range want {
			u, dec := got.UserRecords[j], got.Decoded[j]
			if u.PartitionKey != w.PartitionKey || u.Data != base64.StdEncoding.EncodeToString(w.Data) ||
				u.SubSequenceNumber == nil || *u.SubSequenceNumber != j || u.SequenceNumber != strconv.Itoa(i) {
				t.Fatalf("record %d user record %d: aws-kinesis-agg read %+v, want %+v", i, j, u, w)
			}
			// deaggregateSync reports the first explicit hash key for user
			// records without one (protobufjs defaults the absent index to
			// 0), so the decoded message says whether there is one.
			if dec.HasExplicitHashKeyIndex != (w.ExplicitHashKey != "") ||
				(w.ExplicitHashKey != "" && u.ExplicitPartitionKey != w.ExplicitHashKey) {
				t.Fatalf("record %d user record %d: explicit hash key %q (index present %v), want %q",
					i, j, u.ExplicitPartitionKey, dec.HasExplicitHashKeyIndex, w.ExplicitHashKey)
			}
			if len(dec.Tags) != len(w.Tags) {
				t.Fatalf("record %d user record %d: %d tags, want %d", i, j, len(dec.Tags), len(w.Tags))
			}
			for k, tg := range dec.Tags {
				if tg.Key != w.Tags[k].Key || tg.Value != w.Tags[k].Value || tg.HasValue != (w.Tags[k].Value != "") {
					t.Fatalf("record %d user record %d tag %d: %+v, want %+v", i, j, k, tg, w.Tags[k])
				}
			}
		}
	}
}

// TestNodeAggregatesLikeUs has aws-kinesis-agg's RecordAggregator write the
// same user records (it writes no tags): its bytes must equal ours, and our
// deaggregator must read them back.
func TestNodeAggregatesLikeUs(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	var batches [][]inputRecord
	var req struct {
		Mode    string         `json:"mode"`
		Batches [][]peerRecord `json:"batches"`
	}
	req.Mode = "aggregate"
	for range 30 {
		ins := randomInputs(r, 1+r.IntN(60), false)
		batches = append(batches, ins)
		var recs []peerRecord
		for _, in := range ins {
			recs = append(recs, peerRecord{PartitionKey: in.pk, ExplicitHashKey: in.ehk,
				Data: base64.StdEncoding.EncodeToString(in.data)})
		}
		req.Batches = append(req.Batches, recs)
	}
	var reply []peerRecord
	runPeer(t, req, &reply)
	if len(reply) != len(batches) {
		t.Fatalf("%d aggregated records for %d batches", len(reply), len(batches))
	}
	for iter, ins := range batches {
		theirs, err := base64.StdEncoding.DecodeString(reply[iter].Data)
		if err != nil {
			t.Fatal(err)
		}
		if ours := encode(ins); !bytes.Equal(theirs, ours) {
			t.Errorf("batch %d: aws-kinesis-agg wrote different bytes:\ntheirs %x\n  ours %x", iter, theirs, ours)
		}
		got, err := consumer.Deaggregate(theirs, reply[iter].PartitionKey)
		if err != nil {
			t.Fatalf("batch %d: reading aws-kinesis-agg's record: %v", iter, err)
		}
		if len(got) != len(ins) {
			t.Fatalf("batch %d: %d user records, want %d", iter, len(got), len(ins))
		}
		for j, in := range ins {
			g := got[j]
			if g.PartitionKey != in.pk || g.ExplicitHashKey != in.ehk || !bytes.Equal(g.Data, in.data) || g.Tags != nil {
				t.Fatalf("batch %d user record %d: read pk %q ehk %q %d bytes, want pk %q ehk %q %d bytes",
					iter, j, g.PartitionKey, g.ExplicitHashKey, len(g.Data), in.pk, in.ehk, len(in.data))
			}
		}
	}
}
