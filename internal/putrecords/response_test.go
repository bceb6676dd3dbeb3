package putrecords

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go/middleware"
)

// answer is an HTTP client that answers every request with one status and body.
type answer struct {
	status int
	body   string
}

func (a answer) Do(r *http.Request) (*http.Response, error) {
	_, _ = io.Copy(io.Discard, r.Body)
	_ = r.Body.Close()
	return &http.Response{
		StatusCode: a.status, Request: r,
		Header: http.Header{"Content-Type": {"application/x-amz-json-1.1"}},
		Body:   io.NopCloser(strings.NewReader(a.body)),
	}, nil
}

// putRecords calls PutRecords on a client answered with status and body, with this
// package's deserializer or the SDK's.
func putRecords(status int, body string, ours bool) (*kinesis.PutRecordsOutput, error) {
	c := kinesis.New(kinesis.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String("http://127.0.0.1:1"),
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "secret", ""),
		HTTPClient:   answer{status, body},
		Retryer:      aws.NopRetryer{},
	}, func(o *kinesis.Options) {
		if ours {
			o.APIOptions = append(o.APIOptions, AddDeserializer)
		}
	})
	in := &kinesis.PutRecordsInput{StreamName: aws.String("s"), Records: []types.PutRecordsRequestEntry{
		{Data: []byte("x"), PartitionKey: aws.String("k")},
	}}
	out, err := c.PutRecords(context.Background(), in)
	if out != nil {
		out.ResultMetadata = middleware.Metadata{} // request IDs and timings differ
	}
	return out, err
}

// responseCases are response bodies Kinesis writes, and some it might.
var responseCases = []string{
	`{"FailedRecordCount":0,"Records":[{"SequenceNumber":"49590338271490256608559692538361571095921575989136588898","ShardId":"shardId-000000000000"}]}`,
	`{"EncryptionType":"KMS","FailedRecordCount":2,"Records":[` +
		`{"SequenceNumber":"1","ShardId":"shardId-000000000001"},` +
		`{"ErrorCode":"ProvisionedThroughputExceededException","ErrorMessage":"Rate exceeded for shard shardId-000000000001 in stream s under account 123456789012."},` +
		`{"ErrorCode":"InternalFailure","ErrorMessage":"Internal service failure."}]}`,
	" {\n\t\"Records\" : [ { \"ShardId\" : \"shardId-000000000000\" , \"SequenceNumber\" : \"2\" } ] ,\r\n \"FailedRecordCount\" : 0 } ",
	`{"Records":[],"FailedRecordCount":0,"EncryptionType":"NONE"}`,
	`{"Records":null,"FailedRecordCount":null,"EncryptionType":null}`,
	`{"Records":[{"ErrorCode":null,"ErrorMessage":"m","SequenceNumber":null,"ShardId":null}]}`,
	`{"Unknown":{"a":[1,2.5e-3,-0,true,false,null,"\"x\""]},"Records":[{"Extra":[[]],"ShardId":"s"}],"More":{}}`,
	`{"Records":[{"ErrorMessage":"quote \" backslash \\ slash \/ \b\f\n\r\t \u00e9 \ud83d\ude00 \ud800 end"}]}`,
	`{"Records":[{"ShardId":"a"}],"Records":[{"ShardId":"b"},{"ShardId":"c"}]}`,
	`{"FailedRecordCount":2147483647}`,
	`{"FailedRecordCount":-1}`,
	`{"ShardId":"not an entry"}`,
	`{}`,
	``,
}

// TestParseOutputMatchesSDK: for every response case, this package's deserializer fills
// the same PutRecordsOutput as the SDK's, or fails where it fails.
func TestParseOutputMatchesSDK(t *testing.T) {
	for _, body := range responseCases {
		checkAgainstSDK(t, body)
	}
	// Not responses at all: both refuse.
	for _, body := range []string{`{`, `[]`, `{"Records":[{]}`, `{"FailedRecordCount":1.5}`, `{"FailedRecordCount":"1"}`,
		`{"FailedRecordCount":2147483648}`, `{"Records":{}}`, `{"Records":[1]}`, `{"EncryptionType":1}`, `nul`} {
		if _, err := putRecords(200, body, true); err == nil {
			t.Errorf("%q: no error", body)
		}
	}
}

// checkAgainstSDK fails the test if this package's deserializer and the SDK's disagree on
// body, when the SDK reads it; and if ours accepts a body that the SDK refuses.
func checkAgainstSDK(t *testing.T, body string) {
	t.Helper()
	want, wantErr := putRecords(200, body, false)
	got, err := putRecords(200, body, true)
	switch {
	case wantErr == nil && err != nil:
		t.Errorf("%q: %v; the SDK reads it", body, err)
	case wantErr == nil && !reflect.DeepEqual(got, want):
		t.Errorf("%q:\n got %s\nwant %s", body, dump(got), dump(want))
	case wantErr != nil && err == nil:
		t.Errorf("%q: read as %s; the SDK refuses it: %v", body, dump(got), wantErr)
	}
}

// dump writes an output with its pointers followed.
func dump(o *kinesis.PutRecordsOutput) string {
	if o == nil {
		return "nil"
	}
	s := func(p *string) string {
		if p == nil {
			return "nil"
		}
		return fmt.Sprintf("%q", *p)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "{Failed:%v Encryption:%q Records(%v):", aws.ToInt32(o.FailedRecordCount), o.EncryptionType, o.Records != nil)
	for _, r := range o.Records {
		fmt.Fprintf(&b, " [%s %s %s %s]", s(r.ErrorCode), s(r.ErrorMessage), s(r.SequenceNumber), s(r.ShardId))
	}
	return b.String() + "}"
}

// TestErrorResponsesGoToSDK: an error response becomes the SDK's API error.
func TestErrorResponsesGoToSDK(t *testing.T) {
	_, err := putRecords(400, `{"__type":"ResourceNotFoundException","message":"Stream s under account 123456789012 not found."}`, true)
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) || !strings.Contains(nf.ErrorMessage(), "not found") {
		t.Fatalf("got %v, want ResourceNotFoundException", err)
	}
	if _, err := putRecords(503, ``, true); err == nil {
		t.Fatal("503: no error")
	}
}

// byTarget answers each operation with its own body.
type byTarget map[string]string

func (a byTarget) Do(r *http.Request) (*http.Response, error) {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "Kinesis_20131202.")
	return answer{200, a[op]}.Do(r)
}

// TestAddDeserializerOnlyPutRecords: other operations keep the SDK's deserializer, and
// given twice, the deserializer is there once.
func TestAddDeserializerOnlyPutRecords(t *testing.T) {
	c := kinesis.New(kinesis.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String("http://127.0.0.1:1"),
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "secret", ""),
		HTTPClient: byTarget{
			"ListShards": `{"Shards":[{"ShardId":"shardId-000000000000"}]}`,
			"PutRecords": responseCases[1],
		},
		Retryer: aws.NopRetryer{},
	}, WithPutRecords, WithPutRecords)
	shards, err := c.ListShards(context.Background(), &kinesis.ListShardsInput{StreamName: aws.String("s")})
	if err != nil || len(shards.Shards) != 1 || aws.ToString(shards.Shards[0].ShardId) != "shardId-000000000000" {
		t.Fatalf("ListShards: %v, %+v", err, shards)
	}
	var stack *middleware.Stack
	out, err := c.PutRecords(context.Background(), &kinesis.PutRecordsInput{StreamName: aws.String("s"),
		Records: []types.PutRecordsRequestEntry{{Data: []byte("x"), PartitionKey: aws.String("k")}}},
		func(o *kinesis.Options) {
			o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error { stack = s; return nil })
		})
	if err != nil || aws.ToInt32(out.FailedRecordCount) != 2 || len(out.Records) != 3 {
		t.Fatalf("PutRecords: %v, %s", err, dump(out))
	}
	m, _ := stack.Deserialize.Get(deserializerID)
	if d, ok := m.(*deserializer); !ok {
		t.Fatalf("deserializer in place: %T", m)
	} else if _, twice := d.sdk.(*deserializer); twice {
		t.Fatal("the deserializer wraps another of its own")
	}
}

// FuzzParseOutput: no body makes ParseOutput panic, and where the SDK reads a body as a
// PutRecords response, this package's deserializer reads the same.
func FuzzParseOutput(f *testing.F) {
	for _, c := range responseCases {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var out kinesis.PutRecordsOutput
		_ = ParseOutput([]byte(body), &out)
		checkAgainstSDK(t, body)
	})
}

// BenchmarkParseOutput compares reading a response to a 500-record request with this
// package's deserializer and with the SDK's, through a client.
func BenchmarkParseOutput(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"FailedRecordCount":0,"Records":[`)
	for i := range 500 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"SequenceNumber":"4959033827149025660855969253836157109592157598913658%04d","ShardId":"shardId-%012d"}`, i, i%64)
	}
	sb.WriteString(`]}`)
	body := sb.String()
	for _, ours := range []bool{false, true} {
		b.Run(fmt.Sprintf("ours=%v", ours), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := putRecords(200, body, ours); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
