package kinesistest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/otelkinesis/otelkinesis/kinesistest"
)

// rawCall sends one HTTP request to srv and returns the status, headers and body.
func rawCall(t *testing.T, srv *kinesistest.Server, method, target, contentType, body string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(testCtx(t), method, srv.URL()+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// TestProtocol checks the wire form of answers, byte for byte where it matters: the
// content type, Content-Length, a request ID, and error bodies holding exactly __type
// and message, for requests the SDK would never send.
func TestProtocol(t *testing.T) {
	srv := start(t)
	mustStream(t, srv, "wire", 1)
	const json11 = "application/x-amz-json-1.1"
	for _, tc := range []struct {
		name, method, target, contentType, body string
		status                                  int
		errType, message                        string
	}{
		{"success", "POST", "Kinesis_20131202.DescribeStreamSummary", json11, `{"StreamName":"wire"}`, 200, "", ""},
		{"no target", "POST", "", json11, `{}`, 400, "UnknownOperationException", "X-Amz-Target"},
		{"other service", "POST", "DynamoDB_20120810.ListTables", json11, `{}`, 400, "UnknownOperationException", ""},
		{"GET", "GET", "Kinesis_20131202.ListStreams", json11, ``, 400, "UnknownOperationException", "POST"},
		{"unimplemented", "POST", "Kinesis_20131202.AddTagsToStream", json11, `{"StreamName":"wire","Tags":{"a":"b"}}`, 400, "UnknownOperationException", "kinesistest does not implement AddTagsToStream"},
		{"CBOR", "POST", "Kinesis_20131202.ListStreams", "application/x-amz-cbor-1.1", "\xa0", 400, "SerializationException", "JSON 1.1"},
		{"malformed JSON", "POST", "Kinesis_20131202.ListStreams", json11, `{"Limit":`, 400, "SerializationException", ""},
		{"wrong type", "POST", "Kinesis_20131202.CreateStream", json11, `{"StreamName":"x","ShardCount":"two"}`, 400, "SerializationException", ""},
		{"bad base64", "POST", "Kinesis_20131202.PutRecord", json11, `{"StreamName":"wire","PartitionKey":"k","Data":"not base64!"}`, 400, "SerializationException", ""},
		{"empty body", "POST", "Kinesis_20131202.ListStreams", json11, ``, 200, "", ""},
		{"missing member", "POST", "Kinesis_20131202.PutRecord", json11, `{"StreamName":"wire","Data":"eA=="}`, 400, "ValidationException",
			"1 validation error detected: Value null at 'partitionKey' failed to satisfy constraint: Member must not be null"},
		{"neither name nor ARN", "POST", "Kinesis_20131202.DescribeStreamSummary", json11, `{}`, 400, "InvalidArgumentException", ""},
		{"too large", "POST", "Kinesis_20131202.PutRecords", json11, `{"Records":[{"Data":"` + strings.Repeat("A", 20<<20) + `"}]}`, 413, "SerializationException", "request body over"},
		{"DryRun", "POST", "Kinesis_20131202.PutRecords", json11, `{"StreamName":"wire","DryRun":true,"Records":[{"PartitionKey":"k","Data":"eA=="}]}`, 412, "DryRunOperationException", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, h, body := rawCall(t, srv, tc.method, tc.target, tc.contentType, tc.body)
			if status != tc.status {
				t.Fatalf("status %d (%s), want %d", status, body, tc.status)
			}
			if h.Get("Content-Type") != json11 || h.Get("Content-Length") != strconv.Itoa(len(body)) || h.Get("X-Amzn-Requestid") == "" {
				t.Errorf("headers %v for a body of %d bytes", h, len(body))
			}
			var fields map[string]any
			if err := json.Unmarshal(body, &fields); err != nil {
				t.Fatalf("body %q is not JSON: %v", body, err)
			}
			if tc.errType == "" {
				if _, ok := fields["__type"]; ok {
					t.Errorf("success body %s has __type", body)
				}
				return
			}
			msg, _ := fields["message"].(string)
			if len(fields) != 2 || fields["__type"] != tc.errType || !strings.Contains(msg, tc.message) {
				t.Errorf("error body %s, want __type %s and a message containing %q", body, tc.errType, tc.message)
			}
		})
	}
	if n := len(srv.Stream("wire").AllRecords()); n != 0 {
		t.Errorf("DryRun wrote %d records", n)
	}
	for _, r := range srv.Requests() {
		if r.Attempt != 0 || r.MaxAttempts != 0 {
			t.Errorf("request %d without amz-sdk-request: attempt %d/%d", r.Seq, r.Attempt, r.MaxAttempts)
		}
	}
}
