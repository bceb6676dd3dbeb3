package propagation

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"

	"github.com/otelkinesis/otelkinesis/kinesistest"
)

// shardHolding returns the open shard of st whose range holds the hash key of
// businessKey.
func shardHolding(t *testing.T, st *kinesistest.Stream, businessKey string) string {
	h, _ := new(big.Int).SetString(md5Decimal(businessKey), 10)
	for _, s := range st.Shards() {
		lo, _ := new(big.Int).SetString(s.StartingHashKey, 10)
		hi, _ := new(big.Int).SetString(s.EndingHashKey, 10)
		if s.Open && h.Cmp(lo) >= 0 && h.Cmp(hi) <= 0 {
			return s.ID
		}
	}
	t.Fatalf("no open shard holds %q", businessKey)
	return ""
}

// The key format follows the shard map through resharding: after
// UpdateShardCount every wrapped record still lands where its business key
// maps, because Kinesis routes it by the ExplicitHashKey. Refused entries get
// error spans; the others get their shard and sequence number.
func TestKeyFormatThroughReshardingAndEntryFaults(t *testing.T) {
	srv := kinesistest.NewServer()
	defer srv.Close()
	st, err := srv.CreateStream("orders", 2)
	if err != nil {
		t.Fatal(err)
	}
	tp, rec := tracing(t)
	p := mustProducer(t, WithTracerProvider(tp), WithPropagator(propagation.TraceContext{}))
	cfg := srv.AWSConfig()
	cfg.APIOptions = append(cfg.APIOptions, p.Middleware())
	client := kinesis.NewFromConfig(cfg)

	keys := []string{
		"group-1", "group-2", "group-3", "group-4", "group-5", "group-6", "group-7", "group-8",
		strings.Repeat("é", MaxWrappedBusinessKeyLength),   // 256 characters once wrapped
		strings.Repeat("😀", MaxWrappedBusinessKeyLength/2), // 196 UTF-16 units, 98 characters
		"tp~" + testTraceparent + "~looks-wrapped-already", // wrapped again
	}
	put := func(round int) *kinesis.PutRecordsOutput {
		in := &kinesis.PutRecordsInput{StreamName: aws.String("orders")}
		for i, k := range keys {
			in.Records = append(in.Records, types.PutRecordsRequestEntry{PartitionKey: aws.String(k), Data: fmt.Appendf(nil, "%d/%d", round, i)})
		}
		out, err := client.PutRecords(context.Background(), in)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		return out
	}
	cons := mustConsumer(t, WithPropagator(propagation.TraceContext{}))
	check := func(round int) {
		for i, k := range keys {
			want := shardHolding(t, st, k)
			var found bool
			for _, r := range st.Records(want) {
				if string(r.Data) != fmt.Sprintf("%d/%d", round, i) {
					continue
				}
				found = true
				m := cons.Extract(context.Background(), r.PartitionKey, r.Data, nil)
				if m.PartitionKey != k || r.ExplicitHashKey != md5Decimal(k) || m.Format != FormatKey {
					t.Errorf("round %d, key %d: stored as %q %q, extracted %q %v", round, i, r.PartitionKey, r.ExplicitHashKey, m.PartitionKey, m.Format)
				}
			}
			if !found {
				t.Errorf("round %d: record of key %d not on %s, where its business key maps", round, i, want)
			}
		}
	}
	put(0)
	check(0)
	if err := st.UpdateShardCount(3); err != nil {
		t.Fatal(err)
	}
	put(1)
	check(1)

	// Refuse the records of one shard: their create spans say so.
	refused := shardHolding(t, st, "group-1")
	srv.InjectEntryShards(kinesistest.EntryThrottled, refused)
	rec.Reset()
	out := put(2)
	if aws.ToInt32(out.FailedRecordCount) == 0 {
		t.Fatal("no entry refused")
	}
	var errs, oks int
	for _, s := range rec.Ended() {
		if s.Name() != "create orders" {
			continue
		}
		a := attrs(s)
		switch {
		case s.Status().Code == codes.Error:
			errs++
			if a["error.type"].AsString() != "ProvisionedThroughputExceededException" {
				t.Errorf("refused record's span: %v", a)
			}
		case a["messaging.destination.partition.id"].AsString() != "" && a["messaging.message.id"].AsString() != "":
			oks++
		}
	}
	if errs != int(aws.ToInt32(out.FailedRecordCount)) || errs+oks != len(keys) {
		t.Errorf("%d error spans, %d delivered spans; %d records failed of %d", errs, oks, aws.ToInt32(out.FailedRecordCount), len(keys))
	}
}
