package kinesistest_test

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/otelkinesis/otelkinesis/internal/testpeers"
)

// TestAbortedRequests: a client that goes away in the middle of a request must not take an
// implementation down. Unguarded, kinesalite crashes on the request's "aborted" error, and
// kinesis-local stops listening when a connection is reset before it has read the peer's
// address (the launchers in testdata/peers guard against both). Each case
// opens raw TCP connections, sends part of a request, closes them abruptly, in a burst
// because kinesis-local's failure is a race, and then wants ListStreams and
// DescribeStreamSummary answered as before.
func TestAbortedRequests(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target, c *kinesis.Client) {
		ctx := ctxT(t)
		stream := testpeers.UniqueStreamName(t)
		testpeers.CreateStream(t, c, stream, 1)
		u, err := url.Parse(aws.ToString(c.Options().BaseEndpoint))
		if err != nil {
			t.Fatal(err)
		}
		body := fmt.Sprintf(`{"StreamName":%q,"Records":[{"PartitionKey":"k","Data":"%s"}]}`, stream, strings.Repeat("QUJD", 1000))
		header := "POST / HTTP/1.1\r\n" +
			"Host: " + u.Host + "\r\n" +
			"Content-Type: application/x-amz-json-1.1\r\n" +
			"X-Amz-Target: Kinesis_20131202.PutRecords\r\n" +
			"X-Amz-Date: 20260101T000000Z\r\n" +
			"Authorization: AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=0\r\n" +
			fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body))

		cases := []struct {
			name  string
			sent  string // what the client sends before it goes away
			reset bool   // whether it resets the connection (RST) rather than closing it (FIN)
		}{
			{"header block cut short, closed", header[:len(header)/2], false},
			{"body shorter than Content-Length, closed", header + body[:len(body)/2], false},
			{"body shorter than Content-Length, reset", header + body[:len(body)/2], true},
			{"whole request, reset before the answer", header + body, true},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				for range 20 {
					abortRequest(t, u.Host, tc.sent, tc.reset)
				}
				// An implementation that fails does so a moment later, not while the
				// client goes away: give it that moment before asking.
				time.Sleep(300 * time.Millisecond)
				if _, err := c.ListStreams(ctx, &kinesis.ListStreamsInput{}); err != nil {
					t.Fatalf("%s no longer answers ListStreams after aborted requests: %v", tg.name, err)
				}
				if _, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)}); err != nil {
					t.Fatalf("%s no longer answers DescribeStreamSummary after aborted requests: %v", tg.name, err)
				}
			})
		}
	})
}

// abortRequest connects to addr, writes sent and goes away: with reset, by an RST (linger
// 0), else by an orderly close.
func abortRequest(t *testing.T, addr, sent string, reset bool) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	if _, err := conn.Write([]byte(sent)); err != nil {
		conn.Close()
		t.Fatalf("write to %s: %v", addr, err)
	}
	if reset {
		if err := conn.(*net.TCPConn).SetLinger(0); err != nil {
			t.Fatal(err)
		}
	}
	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}
}
