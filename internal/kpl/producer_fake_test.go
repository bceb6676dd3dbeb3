package kpl

import (
	"bytes"
	"context"
	"crypto/md5"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"github.com/otelkinesis/otelkinesis/internal/kpl/aggregation"
)

// fakeKinesis is an in-memory stream behind the Client interface, strict
// about the PutRecords limits, with hooks to inject failures.
type fakeKinesis struct {
	mu          sync.Mutex
	name        string
	shards      []*fakeShard // every shard, closed ones included, in creation order
	next        int          // next shard number
	recordLimit int          // data + partition key
	maxKiB      *int32       // what DescribeStreamSummary reports
	requestMax  int          // bytes per request

	// Hooks, called with the lock held. putErr fails a whole request;
	// entryErr fails one entry with an error code.
	putErr      func(call int) error
	entryErr    func(call, i int) string
	listErr     func(call int) error
	describeErr error
	// block, if set, makes PutRecords wait until it is closed or the
	// request's context ends.
	block chan struct{}
	// hang, if set and true when a call arrives, makes it wait until its
	// context ends: an endpoint that never answers.
	hang func() bool
	// latency, if set, is how long call number call takes before it is
	// answered (time.Sleep: exact in a synctest bubble).
	latency func(call int) time.Duration

	putCalls, listCalls int
	entries             int // entries received, all attempts
	rejected            []string
	log                 []putLog
}

// putLog is one PutRecords call as the fake saw it.
type putLog struct {
	at      time.Time
	entries int
	shards  int // shards its entries went to
	bytes   int // data + partition keys
	failed  int
}

type fakeShard struct {
	id   string
	rng  aggregation.HashRange
	open bool
	recs []fakeRecord
}

type fakeRecord struct {
	data    []byte
	pk, ehk string
	seq     int
}

func newFakeKinesis(name string, shards int) *fakeKinesis {
	f := &fakeKinesis{name: name, recordLimit: DefaultRecordBytes, requestMax: 5 << 20}
	for _, r := range evenRanges(shards) {
		f.addShard(r)
	}
	return f
}

// evenRanges divides the hash key space in n ranges the way Kinesis does
// for a new stream: range i starts at floor(i * 2^128 / n).
func evenRanges(n int) []aggregation.HashRange {
	space := new(big.Int).Lsh(big.NewInt(1), 128)
	out := make([]aggregation.HashRange, n)
	for i := range n {
		start := new(big.Int).Div(new(big.Int).Mul(space, big.NewInt(int64(i))), big.NewInt(int64(n)))
		end := new(big.Int).Div(new(big.Int).Mul(space, big.NewInt(int64(i+1))), big.NewInt(int64(n)))
		end.Sub(end, big.NewInt(1))
		out[i] = aggregation.HashRange{Start: bigKey(start), End: bigKey(end)}
	}
	return out
}

func bigKey(b *big.Int) aggregation.HashKey {
	h, err := aggregation.ParseHashKey(b.String())
	if err != nil {
		panic(err)
	}
	return h
}

func keyBig(h aggregation.HashKey) *big.Int {
	b, _ := new(big.Int).SetString(h.String(), 10)
	return b
}

func (f *fakeKinesis) addShard(r aggregation.HashRange) *fakeShard {
	s := &fakeShard{id: fmt.Sprintf("shardId-%012d", f.next), rng: r, open: true}
	f.next++
	f.shards = append(f.shards, s)
	return s
}

// split closes the open shard holding h and opens two children dividing
// its range at its middle.
func (f *fakeKinesis) split(h aggregation.HashKey) (parent string, children [2]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.route(h)
	p.open = false
	m := new(big.Int).Add(keyBig(p.rng.Start), keyBig(p.rng.End))
	m.Rsh(m, 1)
	a := f.addShard(aggregation.HashRange{Start: p.rng.Start, End: bigKey(m)})
	b := f.addShard(aggregation.HashRange{Start: bigKey(m.Add(m, big.NewInt(1))), End: p.rng.End})
	return p.id, [2]string{a.id, b.id}
}

func (f *fakeKinesis) route(h aggregation.HashKey) *fakeShard {
	for _, s := range f.shards {
		if s.open && s.rng.Contains(h) {
			return s
		}
	}
	panic("no open shard for " + h.String())
}

func apiError(code, msg string, fault smithy.ErrorFault) error {
	return &smithy.GenericAPIError{Code: code, Message: msg, Fault: fault}
}

func (f *fakeKinesis) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	f.mu.Lock()
	f.putCalls++
	call := f.putCalls
	block := f.block
	var wait time.Duration
	if f.latency != nil {
		wait = f.latency(call)
	}
	hang := f.hang != nil && f.hang()
	f.mu.Unlock()
	time.Sleep(wait)
	if hang {
		<-ctx.Done()
		return nil, fmt.Errorf("operation error Kinesis: PutRecords: %w", ctx.Err())
	}
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if aws.ToString(in.StreamName) != f.name {
		return nil, apiError("ResourceNotFoundException", "Stream "+aws.ToString(in.StreamName)+" not found", smithy.FaultClient)
	}
	if n := len(in.Records); n < 1 || n > MaxBatchCount {
		f.rejected = append(f.rejected, fmt.Sprintf("%d entries", n))
		return nil, apiError("ValidationException", fmt.Sprintf("%d records", n), smithy.FaultClient)
	}
	total := 0
	for _, e := range in.Records {
		pk := aws.ToString(e.PartitionKey)
		total += len(e.Data) + len(pk)
		if len(e.Data)+len(pk) > f.recordLimit || pk == "" || utf8.RuneCountInString(pk) > 256 {
			f.rejected = append(f.rejected, fmt.Sprintf("record of %d bytes, key %d", len(e.Data), len(pk)))
			return nil, apiError("ValidationException", "record too large", smithy.FaultClient)
		}
	}
	if total > f.requestMax {
		f.rejected = append(f.rejected, fmt.Sprintf("request of %d bytes", total))
		return nil, apiError("InvalidArgumentException", "request too large", smithy.FaultClient)
	}
	if f.putErr != nil {
		if err := f.putErr(call); err != nil {
			return nil, err
		}
	}
	out := &kinesis.PutRecordsOutput{Records: make([]types.PutRecordsResultEntry, len(in.Records))}
	failed := int32(0)
	shards := map[*fakeShard]bool{}
	for i, e := range in.Records {
		f.entries++
		if f.entryErr != nil {
			if code := f.entryErr(call, i); code != "" {
				out.Records[i] = types.PutRecordsResultEntry{ErrorCode: aws.String(code), ErrorMessage: aws.String("injected")}
				failed++
				continue
			}
		}
		pk := aws.ToString(e.PartitionKey)
		h := aggregation.HashPartitionKey(pk)
		if e.ExplicitHashKey != nil {
			var err error
			if h, err = aggregation.ParseHashKey(*e.ExplicitHashKey); err != nil {
				return nil, apiError("ValidationException", err.Error(), smithy.FaultClient)
			}
		}
		s := f.route(h)
		shards[s] = true
		s.recs = append(s.recs, fakeRecord{data: bytes.Clone(e.Data), pk: pk, ehk: aws.ToString(e.ExplicitHashKey), seq: f.entries})
		out.Records[i] = types.PutRecordsResultEntry{ShardId: aws.String(s.id), SequenceNumber: aws.String(strconv.Itoa(f.entries))}
	}
	out.FailedRecordCount = aws.Int32(failed)
	f.log = append(f.log, putLog{at: time.Now(), entries: len(in.Records), shards: len(shards), bytes: total, failed: int(failed)})
	return out, nil
}

func (f *fakeKinesis) ListShards(ctx context.Context, in *kinesis.ListShardsInput, _ ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.listCalls++
	if f.listErr != nil {
		if err := f.listErr(f.listCalls); err != nil {
			return nil, err
		}
	}
	// Two shards a page, to exercise NextToken.
	start := 0
	if in.NextToken != nil {
		if in.StreamName != nil {
			return nil, apiError("InvalidArgumentException", "NextToken and StreamName both given", smithy.FaultClient)
		}
		start, _ = strconv.Atoi(*in.NextToken)
	} else if aws.ToString(in.StreamName) != f.name {
		return nil, apiError("ResourceNotFoundException", "not found", smithy.FaultClient)
	}
	out := &kinesis.ListShardsOutput{}
	for i := start; i < len(f.shards) && i < start+2; i++ {
		s := f.shards[i]
		sh := types.Shard{
			ShardId: aws.String(s.id),
			HashKeyRange: &types.HashKeyRange{
				StartingHashKey: aws.String(s.rng.Start.String()),
				EndingHashKey:   aws.String(s.rng.End.String()),
			},
			SequenceNumberRange: &types.SequenceNumberRange{StartingSequenceNumber: aws.String("0")},
		}
		if !s.open {
			sh.SequenceNumberRange.EndingSequenceNumber = aws.String("1")
		}
		out.Shards = append(out.Shards, sh)
	}
	if start+2 < len(f.shards) {
		out.NextToken = aws.String(strconv.Itoa(start + 2))
	}
	return out, nil
}

func (f *fakeKinesis) DescribeStreamSummary(ctx context.Context, in *kinesis.DescribeStreamSummaryInput, _ ...func(*kinesis.Options)) (*kinesis.DescribeStreamSummaryOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.describeErr != nil {
		return nil, f.describeErr
	}
	if aws.ToString(in.StreamName) != f.name {
		return nil, apiError("ResourceNotFoundException", "Stream "+aws.ToString(in.StreamName)+" not found", smithy.FaultClient)
	}
	return &kinesis.DescribeStreamSummaryOutput{StreamDescriptionSummary: &types.StreamDescriptionSummary{
		StreamName: aws.String(f.name), MaxRecordSizeInKiB: f.maxKiB,
	}}, nil
}

// userRecord is a user record read back from the fake stream.
type userRecord struct {
	pk, ehk string
	data    string
	tags    []aggregation.Tag
	shard   string
	outerPK string
}

// readBack deaggregates everything the fake stream stored as a KCL reader
// would, checking the digest, the outer partition key (its first user
// record's) and the outer explicit hash key (inside the shard's range). An
// aggregate holding a user record outside the range of the shard it landed
// on is discarded whole, as the KCL does; discarded counts its user records.
func (f *fakeKinesis) readBack(t testing.TB, aggregated bool) (got []userRecord, discarded int) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.shards {
		for _, r := range s.recs {
			if !aggregated {
				if bytes.HasPrefix(r.data, aggregation.Magic[:]) {
					t.Errorf("shard %s: plain record starts with the KPL magic", s.id)
				}
				got = append(got, userRecord{pk: r.pk, ehk: r.ehk, data: string(r.data), shard: s.id, outerPK: r.pk})
				continue
			}
			if len(r.data) < 20 || !bytes.Equal(r.data[:4], aggregation.Magic[:]) {
				t.Fatalf("shard %s: record without KPL magic: % x", s.id, r.data[:min(len(r.data), 8)])
			}
			sum := md5.Sum(r.data[4 : len(r.data)-16])
			if !bytes.Equal(sum[:], r.data[len(r.data)-16:]) {
				t.Fatalf("shard %s: MD5 mismatch", s.id)
			}
			eh, err := aggregation.ParseHashKey(r.ehk)
			if err != nil || !s.rng.Contains(eh) {
				t.Errorf("shard %s %v: outer explicit hash key %q outside the range (%v)", s.id, s.rng, r.ehk, err)
			}
			var users []userRecord
			inRange := true
			err = walkAggregate(r.data, func(pk, ehk string, data []byte, tags []aggregation.Tag) {
				if len(users) == 0 && pk != r.pk {
					t.Errorf("shard %s: outer partition key %q, first user record's %q", s.id, r.pk, pk)
				}
				h := aggregation.HashPartitionKey(pk)
				if ehk != "" {
					h, _ = aggregation.ParseHashKey(ehk)
				}
				inRange = inRange && s.rng.Contains(h)
				users = append(users, userRecord{pk: pk, ehk: ehk, data: string(data), tags: slices.Clone(tags), shard: s.id, outerPK: r.pk})
			})
			if err != nil {
				t.Fatalf("shard %s: %v", s.id, err)
			}
			if !inRange {
				discarded += len(users)
				continue
			}
			got = append(got, users...)
		}
	}
	return got, discarded
}

func (f *fakeKinesis) storedRecords() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, s := range f.shards {
		n += len(s.recs)
	}
	return n
}

func (f *fakeKinesis) calls() (put, list int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.putCalls, f.listCalls
}
