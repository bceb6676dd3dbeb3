package putrecords

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"go.uber.org/goleak"

	"github.com/otelkinesis/otelkinesis/internal/reqbuf"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"))
}

// capture is an HTTP client that keeps the last request and its body, and answers
// PutRecords with one success per record.
type capture struct {
	req  *http.Request
	body []byte
}

func (c *capture) Do(r *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	_ = r.Body.Close()
	c.req, c.body = r, body
	answer := `{}`
	if r.Header.Get("X-Amz-Target") == target {
		// Every record has a partition key, and a key holding this text would be escaped.
		n := bytes.Count(body, []byte(`"PartitionKey":`))
		var b strings.Builder
		b.WriteString(`{"FailedRecordCount":0,"Records":[`)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"SequenceNumber":"%d","ShardId":"shardId-000000000000"}`, i+1)
		}
		b.WriteString(`]}`)
		answer = b.String()
	}
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {contentType}},
		Body: io.NopCloser(strings.NewReader(answer)), ContentLength: int64(len(answer)), Request: r}, nil
}

func client(c *capture, ours bool) *kinesis.Client {
	return kinesis.New(kinesis.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String("http://127.0.0.1:1"),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		HTTPClient:   c,
		Retryer:      aws.NopRetryer{},
	}, func(o *kinesis.Options) {
		if ours {
			WithPutRecords(o)
		}
	})
}

// awkwardKeys are partition keys and names JSON must escape or that are not ASCII.
var awkwardKeys = []string{"a", `quote " and \ backslash`, "tab\tnew\nline\r", "\x00\x01\x1f\x7f", "ключ-鍵-🔑",
	"line\u2028para\u2029", "bad \xff\xfe utf-8 \xc3", "<html>&amp;", strings.Repeat("é", 256)}

// randomInput builds a PutRecords input with every optional member sometimes set.
func randomInput(r *rand.Rand) *kinesis.PutRecordsInput {
	in := &kinesis.PutRecordsInput{}
	for range r.IntN(20) {
		var e types.PutRecordsRequestEntry
		if r.IntN(10) > 0 {
			e.Data = make([]byte, []int{0, 1, 2, 3, 100, 5000}[r.IntN(6)])
			for i := range e.Data {
				e.Data[i] = byte(r.Uint32())
			}
		}
		if r.IntN(3) == 0 {
			e.ExplicitHashKey = aws.String(fmt.Sprint(r.Uint64()))
		}
		if r.IntN(10) > 0 {
			e.PartitionKey = aws.String(awkwardKeys[r.IntN(len(awkwardKeys))])
		}
		in.Records = append(in.Records, e)
	}
	if r.IntN(2) == 0 {
		in.StreamName = aws.String(awkwardKeys[r.IntN(len(awkwardKeys))])
	}
	if r.IntN(3) == 0 {
		in.StreamARN = aws.String("arn:aws:kinesis:us-east-1:123456789012:stream/s")
	}
	if r.IntN(4) == 0 {
		in.StreamId = aws.String("sid")
	}
	if r.IntN(4) == 0 {
		in.DryRun = aws.Bool(r.IntN(2) == 0)
	}
	return in
}

// TestBodyAsSDK checks that AppendBody writes the JSON document the SDK's own serializer
// writes (the same members and values, compared decoded) and that BodySize is exact.
func TestBodyAsSDK(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 500 {
		in := randomInput(r)
		sdk := sdkBody(t, in)
		ours := AppendBody(nil, in)
		if len(ours) > BodySize(in) || (plainASCII(in) && len(ours) != BodySize(in)) {
			t.Fatalf("input %d: BodySize %d, body has %d bytes", i, BodySize(in), len(ours))
		}
		var a, b any
		if err := json.Unmarshal(sdk, &a); err != nil {
			t.Fatalf("input %d: the SDK's body: %v", i, err)
		}
		if err := json.Unmarshal(ours, &b); err != nil {
			t.Fatalf("input %d: our body is not JSON: %v\n%s", i, err, ours)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("input %d: bodies differ\nSDK:  %s\nours: %s", i, sdk, ours)
		}
	}
}

// sdkBody returns the body the SDK's serializer writes for in, whatever it is.
func sdkBody(t *testing.T, in *kinesis.PutRecordsInput) []byte {
	t.Helper()
	c := &capture{}
	if _, err := client(c, false).PutRecords(context.Background(), in); err != nil && c.body == nil {
		// Validation refuses some inputs before serialising them; serialise those by hand.
		return serializeBySDK(t, in)
	}
	return c.body
}

// serializeBySDK runs only the SDK's serializer on in, skipping its validation.
func serializeBySDK(t *testing.T, in *kinesis.PutRecordsInput) []byte {
	t.Helper()
	c := &capture{}
	_, _ = client(c, false).PutRecords(context.Background(), in, func(o *kinesis.Options) {
		o.APIOptions = append(o.APIOptions, removeValidation)
	})
	if c.body == nil {
		t.Fatal("the SDK sent no request")
	}
	return c.body
}

// TestRequestAsSDK sends the same valid input through a client with and one without
// the serializer and compares what went out: method, path, headers other than the
// per-call ones, and the decoded body; and the sent body's length is its Content-Length.
func TestRequestAsSDK(t *testing.T) {
	in := &kinesis.PutRecordsInput{StreamName: aws.String("s"), Records: []types.PutRecordsRequestEntry{
		{Data: []byte("one"), PartitionKey: aws.String("k1")},
		{Data: []byte{}, PartitionKey: aws.String("ключ"), ExplicitHashKey: aws.String("340282366920938463463374607431768211455")},
	}}
	sdk, ours := &capture{}, &capture{}
	outA, err := client(sdk, false).PutRecords(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	outB, err := client(ours, true).PutRecords(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if len(outA.Records) != 2 || len(outB.Records) != 2 {
		t.Fatalf("results: %d and %d", len(outA.Records), len(outB.Records))
	}
	if sdk.req.Method != ours.req.Method || sdk.req.URL.String() != ours.req.URL.String() {
		t.Errorf("request line: %s %s vs %s %s", sdk.req.Method, sdk.req.URL, ours.req.Method, ours.req.URL)
	}
	for _, h := range []string{"X-Amz-Target", "Content-Type", "Content-Length"} {
		if a, b := sdk.req.Header.Get(h), ours.req.Header.Get(h); a != b {
			t.Errorf("%s: SDK %q, ours %q", h, a, b)
		}
	}
	if ours.req.ContentLength != int64(len(ours.body)) {
		t.Errorf("Content-Length %d for a body of %d bytes", ours.req.ContentLength, len(ours.body))
	}
	for name := range sdk.req.Header {
		if _, ok := ours.req.Header[name]; !ok {
			t.Errorf("header %s missing", name)
		}
	}
	var a, b any
	_ = json.Unmarshal(sdk.body, &a)
	_ = json.Unmarshal(ours.body, &b)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("bodies differ\nSDK:  %s\nours: %s", sdk.body, ours.body)
	}
}

// TestSignature checks that the request is signed over the body actually sent: the
// Authorization header equals the one SigV4 computes from the captured request and the
// SHA-256 of its body.
func TestSignature(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 20 {
		in := randomInput(r)
		in.StreamName = aws.String("s")
		in.Records = append(in.Records, types.PutRecordsRequestEntry{Data: []byte("x"), PartitionKey: aws.String("k")})
		for i := range in.Records {
			if in.Records[i].Data == nil {
				in.Records[i].Data = []byte{}
			}
			if in.Records[i].PartitionKey == nil {
				in.Records[i].PartitionKey = aws.String("k")
			}
		}
		c := &capture{}
		if _, err := client(c, true).PutRecords(context.Background(), in); err != nil {
			t.Fatal(err)
		}
		got := c.req.Header.Get("Authorization")
		when, err := time.Parse("20060102T150405Z", c.req.Header.Get("X-Amz-Date"))
		if err != nil {
			t.Fatal(err)
		}
		again := c.req.Clone(context.Background())
		again.Header.Del("Authorization")
		sum := sha256.Sum256(c.body)
		creds := aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, again, hex.EncodeToString(sum[:]), "kinesis", "us-east-1", when); err != nil {
			t.Fatal(err)
		}
		if want := again.Header.Get("Authorization"); got != want {
			t.Fatalf("Authorization\n got %s\nwant %s", got, want)
		}
	}
}

// TestOtherOperations checks that operations other than PutRecords are serialised by the
// SDK as before.
func TestOtherOperations(t *testing.T) {
	a, b := &capture{}, &capture{}
	in := &kinesis.ListShardsInput{StreamName: aws.String("s"), MaxResults: aws.Int32(5)}
	_, _ = client(a, false).ListShards(context.Background(), in)
	_, _ = client(b, true).ListShards(context.Background(), in)
	if a.body == nil || !bytes.Equal(a.body, b.body) || a.req.Header.Get("X-Amz-Target") != b.req.Header.Get("X-Amz-Target") {
		t.Errorf("ListShards changed: %s vs %s", a.body, b.body)
	}
}

// sampleRecords returns records with distinct awkward keys and data of many lengths.
func sampleRecords() []types.PutRecordsRequestEntry {
	var recs []types.PutRecordsRequestEntry
	for i, k := range awkwardKeys {
		if !utf8Valid(k) || strings.ContainsRune(k, 0) {
			continue // Kinesis would refuse or rewrite these keys
		}
		data := bytes.Repeat([]byte{byte(i), 0xff, '"'}, i*37)
		recs = append(recs, types.PutRecordsRequestEntry{Data: data, PartitionKey: aws.String(k)})
	}
	return recs
}

// TestAddSerializerTwice: given again (per call, on a client built with it), AddSerializer
// leaves the one serializer in place, wrapping the SDK's.
func TestAddSerializerTwice(t *testing.T) {
	stack := middleware.NewStack("op", smithyhttp.NewStackRequest)
	sdk := middleware.SerializeMiddlewareFunc(serializerID, func(ctx context.Context, in middleware.SerializeInput, next middleware.SerializeHandler) (
		middleware.SerializeOutput, middleware.Metadata, error,
	) {
		return next.HandleSerialize(ctx, in)
	})
	if err := stack.Serialize.Add(sdk, middleware.After); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := AddSerializer(stack); err != nil {
			t.Fatal(err)
		}
	}
	m, ok := stack.Serialize.Get(serializerID)
	if s, ours := m.(*serializer); !ok || !ours {
		t.Fatalf("serializer in place: %T", m)
	} else if _, wrapped := s.sdk.(*serializer); wrapped {
		t.Fatal("the serializer wraps another of its own")
	}

	// A client built with the serializer and given it again per call writes the same body.
	a, b := &capture{}, &capture{}
	in := &kinesis.PutRecordsInput{StreamName: aws.String("s"), Records: sampleRecords()}
	_, _ = client(a, true).PutRecords(context.Background(), in)
	_, _ = client(b, true).PutRecords(context.Background(), in, func(o *kinesis.Options) {
		o.APIOptions = append(o.APIOptions, AddSerializer)
	})
	if a.body == nil || !bytes.Equal(a.body, b.body) {
		t.Fatalf("bodies differ:\n%s\n%s", a.body, b.body)
	}
}

// TestSerializerInstalled fails if WithPutRecords no longer finds the SDK's serializer to
// replace (an SDK release that renames or moves it): the request body must then be the one
// this package wrote, into the buffer the caller handed over (which the producer charges
// against its memory budget), byte for byte AppendBody's. Without this test such an
// upgrade would silently send the SDK's own body, from buffers nobody counts.
func TestSerializerInstalled(t *testing.T) {
	in := &kinesis.PutRecordsInput{StreamName: aws.String("s"), Records: []types.PutRecordsRequestEntry{
		{Data: []byte("one"), PartitionKey: aws.String("k1")},
		{Data: []byte("two"), PartitionKey: aws.String("k2"), ExplicitHashKey: aws.String("17")},
	}}
	c := &capture{}
	buf := make([]byte, 0, 4096)
	if _, err := client(c, true).PutRecords(reqbuf.With(context.Background(), &buf), in); err != nil {
		t.Fatal(err)
	}
	want := AppendBody(nil, in)
	if !bytes.Equal(c.body, want) {
		t.Fatalf("the body sent is not this package's:\n got %s\nwant %s", c.body, want)
	}
	if !bytes.Equal(buf, want) || cap(buf) != 4096 {
		t.Errorf("the body was not written into the caller's buffer (%d bytes there, capacity %d)", len(buf), cap(buf))
	}
}
