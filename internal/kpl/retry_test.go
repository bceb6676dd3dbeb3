package kpl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

func httpErr(status int, err error) error {
	return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
		Err:      err,
	}}
}

func opErr(err error) error {
	return &smithy.OperationError{ServiceID: "Kinesis", OperationName: "PutRecords", Err: err}
}

func TestClassifyError(t *testing.T) {
	cases := []struct {
		name  string
		err   error
		class errClass
		code  string
	}{
		{"throttled request", opErr(httpErr(400, &types.ProvisionedThroughputExceededException{})), classThrottle, "ProvisionedThroughputExceededException"},
		{"KMS throttling", opErr(httpErr(400, &types.KMSThrottlingException{})), classThrottle, "KMSThrottlingException"},
		{"limit exceeded", opErr(httpErr(400, &types.LimitExceededException{})), classThrottle, "LimitExceededException"},
		{"not found", opErr(httpErr(400, &types.ResourceNotFoundException{})), classPermanent, "ResourceNotFoundException"},
		{"access denied", opErr(httpErr(400, &types.AccessDeniedException{})), classPermanent, "AccessDeniedException"},
		{"invalid argument", opErr(httpErr(400, &types.InvalidArgumentException{})), classPermanent, "InvalidArgumentException"},
		{"validation", opErr(httpErr(400, &types.ValidationException{})), classPermanent, "ValidationException"},
		{"KMS disabled", opErr(httpErr(400, &types.KMSDisabledException{})), classPermanent, "KMSDisabledException"},
		{"KMS not found", opErr(httpErr(400, &types.KMSNotFoundException{})), classPermanent, "KMSNotFoundException"},
		{"internal failure", opErr(httpErr(500, &types.InternalFailureException{})), classRetry, "InternalFailureException"},
		{"503 unmodelled", opErr(httpErr(503, apiError("ServiceUnavailable", "", smithy.FaultServer))), classRetry, "ServiceUnavailable"},
		{"503 no body", opErr(httpErr(503, errors.New("failed to decode"))), classRetry, "http_503"},
		{"502", opErr(httpErr(502, errors.New("bad gateway"))), classRetry, "http_502"},
		{"429", opErr(httpErr(429, errors.New("slow down"))), classThrottle, "http_429"},
		{"unknown 4xx", opErr(httpErr(418, apiError("Teapot", "", smithy.FaultClient))), classPermanent, "Teapot"},
		{"timeout", opErr(fmt.Errorf("request: %w", context.DeadlineExceeded)), classRetry, "timeout"},
		{"cancelled", opErr(context.Canceled), classPermanent, "canceled"},
		{"reset", opErr(&smithyhttp.RequestSendError{Err: &net.OpError{Op: "read", Err: errors.New("connection reset by peer")}}), classRetry, "connection"},
		{"refused", opErr(&smithyhttp.RequestSendError{Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}), classRetry, "connection"},
		{"eof", opErr(fmt.Errorf("read body: %w", io.ErrUnexpectedEOF)), classRetry, "connection"},
		{"deserialization", opErr(&smithy.DeserializationError{Err: errors.New("bad json")}), classRetry, "deserialization"},
		{"expired token", opErr(httpErr(400, apiError("ExpiredTokenException", "", smithy.FaultClient))), classRetry, "ExpiredTokenException"},
		{"anything else", errors.New("no credentials"), classPermanent, "unknown"},
	}
	for _, c := range cases {
		class, code := classifyError(c.err)
		if class != c.class || code != c.code {
			t.Errorf("%s: got %v %q, want %v %q", c.name, class, code, c.class, c.code)
		}
	}
}

func TestClassifyCode(t *testing.T) {
	for code, want := range map[string]errClass{
		"ProvisionedThroughputExceededException": classThrottle,
		"InternalFailure":                        classRetry,
		"KMSThrottlingException":                 classThrottle,
		"KMSAccessDeniedException":               classPermanent,
		"SomethingNew":                           classRetry,
	} {
		if got := classifyCode(code); got != want {
			t.Errorf("%s: %v, want %v", code, got, want)
		}
	}
}

func TestBackoffEqualJitter(t *testing.T) {
	minD, maxD := 100*time.Millisecond, 5*time.Second
	top := func(n int64) int64 { return n }  // the ceiling itself
	bottom := func(int64) int64 { return 0 } // half the ceiling
	for attempt, want := range map[int]time.Duration{
		0: 100 * time.Millisecond, 1: 100 * time.Millisecond, 2: 300 * time.Millisecond,
		3: 900 * time.Millisecond, 4: 2700 * time.Millisecond, 5: maxD, 100: maxD,
	} {
		if got := retryWait(attempt, minD, maxD, top); got != want {
			t.Errorf("attempt %d: ceiling %v, want %v", attempt, got, want)
		}
		if got := retryWait(attempt, minD, maxD, bottom); got != want/2 {
			t.Errorf("attempt %d: floor %v, want %v", attempt, got, want/2)
		}
	}
	// With real randomness every value stays within [ceiling/2, ceiling] and they spread.
	seen := map[time.Duration]bool{}
	for range 1000 {
		d := retryWait(3, minD, maxD, nil)
		if d < 450*time.Millisecond || d > 900*time.Millisecond {
			t.Fatalf("backoff %v outside [450ms, 900ms]", d)
		}
		seen[(d-450*time.Millisecond)/(45*time.Millisecond)] = true
	}
	if len(seen) < 10 {
		t.Errorf("backoff not spread over [450ms, 900ms]: %d of 11 buckets", len(seen))
	}
	// The defaults' ten retries take at least two minutes: an outage of the endpoint that
	// Kinesis answers with errors (503s) that long does not run through max_retries.
	var least, most time.Duration
	for a := 1; a <= DefaultMaxRetries; a++ {
		least += retryWait(a, DefaultMinBackoff, DefaultMaxBackoff, bottom)
		most += retryWait(a, DefaultMinBackoff, DefaultMaxBackoff, top)
	}
	if least < 2*time.Minute || most > DefaultRecordTTL {
		t.Errorf("ten retries take %v to %v, want at least 2m and at most the record TTL %v", least, most, DefaultRecordTTL)
	}
}

func TestMayHaveStored(t *testing.T) {
	cases := []struct {
		name string
		err  error
		may  bool
	}{
		{"resharding", opErr(httpErr(400, apiError("ResourceInUseException", "", smithy.FaultClient))), false},
		{"expired token", opErr(httpErr(400, apiError("ExpiredTokenException", "", smithy.FaultClient))), false},
		{"request timeout 408", opErr(httpErr(408, errors.New("timeout"))), false},
		{"throttled", opErr(httpErr(400, &types.ProvisionedThroughputExceededException{})), false},
		{"dial refused", opErr(&smithyhttp.RequestSendError{Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}), false},
		{"internal failure", opErr(httpErr(500, &types.InternalFailureException{})), true},
		{"503", opErr(httpErr(503, errors.New("unavailable"))), true},
		{"reset mid-request", opErr(&smithyhttp.RequestSendError{Err: &net.OpError{Op: "read", Err: errors.New("connection reset by peer")}}), true},
		{"timeout", opErr(fmt.Errorf("request: %w", context.DeadlineExceeded)), true},
		{"eof", opErr(fmt.Errorf("read body: %w", io.ErrUnexpectedEOF)), true},
		{"deserialization", opErr(&smithy.DeserializationError{Err: errors.New("bad json")}), true},
		{"no error: a mismatched answer", nil, true},
	}
	for _, c := range cases {
		if got := mayHaveStored(c.err); got != c.may {
			t.Errorf("%s: mayHaveStored = %v, want %v", c.name, got, c.may)
		}
	}
}
