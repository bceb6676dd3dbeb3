package putrecords

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// BenchmarkPutRecords compares a whole PutRecords call (serialise, hash, sign, send to a
// client that reads the body, deserialise) of the SDK's serializer and ours, for the
// requests the producer sends: aggregated records of 50 KiB, and small plain records.
//
//	go test -run '^$' -bench PutRecords -benchmem -count=10 ./internal/putrecords/ | tee new.txt
//	go run golang.org/x/perf/cmd/benchstat@latest -col /serializer new.txt
func BenchmarkPutRecords(b *testing.B) {
	for _, shape := range []struct {
		name        string
		records, sz int
	}{{"records=100x50KiB", 100, 50 << 10}, {"records=500x200B", 500, 200}} {
		in := &kinesis.PutRecordsInput{StreamName: aws.String("telemetry")}
		for i := range shape.records {
			data := make([]byte, shape.sz)
			for j := range data {
				data[j] = byte(i * j)
			}
			in.Records = append(in.Records, types.PutRecordsRequestEntry{Data: data,
				PartitionKey: aws.String(fmt.Sprintf("%032x", i)), ExplicitHashKey: aws.String("170141183460469231731687303715884105728")})
		}
		for _, ours := range []bool{false, true} {
			name := "serializer=sdk"
			if ours {
				name = "serializer=putrecords"
			}
			b.Run(shape.name+"/"+name, func(b *testing.B) {
				c := client(&capture{}, ours)
				b.SetBytes(int64(shape.records * shape.sz))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := c.PutRecords(context.Background(), in); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
