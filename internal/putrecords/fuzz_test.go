package putrecords

import (
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// FuzzBody checks, for any key, name and data, that the body is JSON of exactly BodySize
// bytes that decodes to the values given (invalid UTF-8 read as U+FFFD per bad byte).
func FuzzBody(f *testing.F) {
	for _, k := range awkwardKeys {
		f.Add(k, "stream", []byte("data"))
	}
	f.Fuzz(func(t *testing.T, key, stream string, data []byte) {
		in := &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: []types.PutRecordsRequestEntry{
			{Data: data, PartitionKey: aws.String(key), ExplicitHashKey: aws.String(stream)},
			{Data: []byte{}, PartitionKey: aws.String(stream)},
		}}
		body := AppendBody(nil, in)
		if len(body) > BodySize(in) || (plainASCII(in) && len(body) != BodySize(in)) {
			t.Fatalf("BodySize %d, body %d bytes", BodySize(in), len(body))
		}
		var out struct {
			Records []struct {
				Data            []byte
				PartitionKey    string
				ExplicitHashKey string
			}
			StreamName string
		}
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatalf("not JSON: %v\n%q", err, body)
		}
		valid := func(s string) string { return string([]rune(s)) } // each bad byte becomes U+FFFD
		if len(out.Records) != 2 || string(out.Records[0].Data) != string(data) ||
			out.Records[0].PartitionKey != valid(key) || out.Records[0].ExplicitHashKey != valid(stream) ||
			out.StreamName != valid(stream) || out.Records[1].PartitionKey != valid(stream) {
			t.Fatalf("decoded %+v", out)
		}
	})
}
