package kinesistest_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/otelkinesis/otelkinesis/kinesistest"
)

func entries(n, size int) []types.PutRecordsRequestEntry {
	out := make([]types.PutRecordsRequestEntry, n)
	for i := range out {
		out[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprint(i)), Data: bytes.Repeat([]byte{'x'}, size)}
	}
	return out
}

func withEHK(e types.PutRecordsRequestEntry, ehk string) types.PutRecordsRequestEntry {
	e.ExplicitHashKey = aws.String(ehk)
	return e
}

// TestPutRecordsValidation sends requests at and over each limit Kinesis enforces and
// checks the error code, the HTTP status and the message the client sees, and that a
// refused request writes nothing.
func TestPutRecordsValidation(t *testing.T) {
	srv, c, st := setup(t, "limits", 2)
	mustStream(t, srv, "large", 1, kinesistest.WithMaxRecordSizeKiB(2048))

	for _, tc := range []struct {
		name    string
		stream  string
		records []types.PutRecordsRequestEntry
		code    string // "" when accepted
		message string // a part of the message, when refused
	}{
		{name: "500 entries", records: entries(500, 10)},
		{name: "501 entries", records: entries(501, 10), code: "ValidationException",
			message: "at 'records' failed to satisfy constraint: Member must have length less than or equal to 500"},
		{name: "no entries", records: []types.PutRecordsRequestEntry{}, code: "ValidationException",
			message: "Member must have length greater than or equal to 1"},
		{name: "256-character key", records: []types.PutRecordsRequestEntry{entry(strings.Repeat("é", 256), "x")}},
		{name: "257-character key", records: []types.PutRecordsRequestEntry{entry(strings.Repeat("k", 257), "x")}, code: "ValidationException",
			message: "at 'records.1.member.partitionKey' failed to satisfy constraint: Member must have length less than or equal to 256"},
		{name: "empty key", records: []types.PutRecordsRequestEntry{entry("a", "x"), entry("", "x")}, code: "ValidationException",
			message: "1 validation error detected: Value '' at 'records.2.member.partitionKey' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{name: "two bad keys", records: []types.PutRecordsRequestEntry{entry("", "x"), entry("", "x")}, code: "ValidationException",
			message: "2 validation errors detected"},
		{name: "empty data", records: []types.PutRecordsRequestEntry{entry("k", "")}},
		{name: "record of 1 MiB", records: entries(1, 1<<20)},
		{name: "record over 1 MiB", records: entries(1, 1<<20+1), code: "ValidationException",
			message: "Value 'java.nio.HeapByteBuffer[pos=0 lim=1048577 cap=1048577]' at 'records.1.member.data' failed to satisfy constraint: Member must have length less than or equal to 1048576"},
		{name: "record of 2 MiB on a 2048 KiB stream", stream: "large", records: entries(1, 2<<20)},
		{name: "record over 2 MiB on a 2048 KiB stream", stream: "large", records: entries(1, 2<<20+1), code: "ValidationException",
			message: "Member must have length less than or equal to 2097152"},
		{name: "ExplicitHashKey 0", records: []types.PutRecordsRequestEntry{withEHK(entry("k", "x"), "0")}},
		{name: "ExplicitHashKey 2^128-1", records: []types.PutRecordsRequestEntry{withEHK(entry("k", "x"), "340282366920938463463374607431768211455")}},
		{name: "ExplicitHashKey 2^128", records: []types.PutRecordsRequestEntry{withEHK(entry("k", "x"), "340282366920938463463374607431768211456")}, code: "InvalidArgumentException",
			message: "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was 340282366920938463463374607431768211456"},
		{name: "ExplicitHashKey 40 digits", records: []types.PutRecordsRequestEntry{withEHK(entry("k", "x"), "1"+strings.Repeat("0", 39))}, code: "ValidationException",
			message: `Member must satisfy regular expression pattern: 0|([1-9]\d{0,38})`},
		{name: "ExplicitHashKey leading zero", records: []types.PutRecordsRequestEntry{withEHK(entry("k", "x"), "01")}, code: "ValidationException"},
		{name: "ExplicitHashKey negative", records: []types.PutRecordsRequestEntry{withEHK(entry("k", "x"), "-1")}, code: "ValidationException"},
		{name: "request of 10 MiB", records: entries(10, 1<<20-1)}, // keys "0".."9": 1 byte each
		{name: "request over 10 MiB", records: entries(11, 1<<20-100), code: "InvalidArgumentException", message: "Records size exceeds 10 MB limit"},
		{name: "missing stream", stream: "nope", records: entries(1, 1), code: "ResourceNotFoundException",
			message: "Stream nope under account 123456789012 not found."},
		{name: "invalid stream name", stream: "no spaces", records: entries(1, 1), code: "ValidationException",
			message: "at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stream := tc.stream
			if stream == "" {
				stream = st.Name()
			}
			before := srv.Stats().RecordsAccepted
			out, err := c.PutRecords(testCtx(t), &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: tc.records})
			if tc.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				if n := aws.ToInt32(out.FailedRecordCount); n != 0 {
					t.Fatalf("FailedRecordCount %d", n)
				}
				if got := srv.Stats().RecordsAccepted - before; got != int64(len(tc.records)) {
					t.Fatalf("%d records accepted, want %d", got, len(tc.records))
				}
				return
			}
			wantCode(t, err, tc.code)
			if status := httpStatus(err); status != 400 {
				t.Errorf("HTTP status %d, want 400", status)
			}
			if !strings.Contains(apiMessage(err), tc.message) {
				t.Errorf("message %q does not contain %q", apiMessage(err), tc.message)
			}
			if got := srv.Stats().RecordsAccepted - before; got != 0 {
				t.Errorf("a refused request wrote %d records", got)
			}
		})
	}
}

// TestRequestSizeLimit5MiB checks the smaller limit of the emulators and older AWS.
func TestRequestSizeLimit5MiB(t *testing.T) {
	_, c, st := setup(t, "five", 1, kinesistest.WithRequestSizeLimit(kinesistest.RequestSizeLimit5MiB))
	put := func(recs []types.PutRecordsRequestEntry) error {
		_, err := c.PutRecords(testCtx(t), &kinesis.PutRecordsInput{StreamName: aws.String(st.Name()), Records: recs})
		return err
	}
	// Five records whose data and one-byte keys make exactly 5 MiB pass.
	if err := put(entries(5, 1<<20-1)); err != nil {
		t.Fatal(err)
	}
	// One byte more is refused: partition keys count.
	recs := entries(5, 1<<20-1)
	recs[0].PartitionKey = aws.String("00")
	err := put(recs)
	wantCode(t, err, "InvalidArgumentException")
	if apiMessage(err) != "Records size exceeds 5 MB limit" {
		t.Errorf("message %q", apiMessage(err))
	}
}

// TestPutRecordValidation covers PutRecord's member paths.
func TestPutRecordValidation(t *testing.T) {
	_, c, st := setup(t, "single", 1)
	for _, tc := range []struct {
		in      kinesis.PutRecordInput
		code    string
		message string
	}{
		{kinesis.PutRecordInput{PartitionKey: aws.String(""), Data: []byte("x")}, "ValidationException",
			"Value '' at 'partitionKey' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{kinesis.PutRecordInput{PartitionKey: aws.String("k"), Data: bytes.Repeat([]byte{1}, 1<<20+1)}, "ValidationException",
			"1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=1048577 cap=1048577]' at 'data' failed to satisfy constraint: Member must have length less than or equal to 1048576"},
		{kinesis.PutRecordInput{PartitionKey: aws.String("k"), Data: []byte("x"), ExplicitHashKey: aws.String("abc")}, "ValidationException",
			"at 'explicitHashKey' failed to satisfy constraint"},
		{kinesis.PutRecordInput{PartitionKey: aws.String("k"), Data: []byte("x"), ExplicitHashKey: aws.String("999999999999999999999999999999999999999")}, "InvalidArgumentException",
			"Invalid ExplicitHashKey"},
		{kinesis.PutRecordInput{PartitionKey: aws.String("k"), Data: []byte("x"), SequenceNumberForOrdering: aws.String("abc")}, "ValidationException",
			"sequenceNumberForOrdering"},
	} {
		in := tc.in
		in.StreamName = aws.String(st.Name())
		_, err := c.PutRecord(testCtx(t), &in)
		if apiCode(err) != tc.code || !strings.Contains(apiMessage(err), tc.message) {
			t.Errorf("PutRecord(pk %q, %d bytes, ehk %q): %v; want %s containing %q",
				aws.ToString(in.PartitionKey), len(in.Data), aws.ToString(in.ExplicitHashKey), err, tc.code, tc.message)
		}
	}
	if n := len(st.AllRecords()); n != 0 {
		t.Errorf("refused PutRecords wrote %d records", n)
	}
}
