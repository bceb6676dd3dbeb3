package kpl

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

// errClass is what the producer does after an error.
type errClass uint8

const (
	classRetry     errClass = iota // send again after a backoff
	classThrottle                  // send again after a backoff; the shard or stream is over capacity
	classPermanent                 // give up at once: sending again cannot succeed
)

// Error codes by class (DESIGN §5). Codes not listed are classified by their
// HTTP status, then as connection errors, and are otherwise permanent.
var errorCodes = map[string]errClass{
	// Per-entry and request throttling. KMSThrottlingException is not in
	// the SDK's default throttle list.
	"ProvisionedThroughputExceededException": classThrottle,
	"LimitExceededException":                 classThrottle,
	"KMSThrottlingException":                 classThrottle,
	"ThrottlingException":                    classThrottle,
	"Throttling":                             classThrottle,
	"TooManyRequestsException":               classThrottle,
	"RequestLimitExceeded":                   classThrottle,
	"SlowDown":                               classThrottle,

	// Transient failures.
	"InternalFailure":             classRetry,
	"InternalFailureException":    classRetry,
	"InternalServerError":         classRetry,
	"ServiceUnavailable":          classRetry,
	"ServiceUnavailableException": classRetry,
	"RequestTimeout":              classRetry,
	"RequestTimeoutException":     classRetry,
	"ResourceInUseException":      classRetry, // stream being created or updated
	"ExpiredTokenException":       classRetry, // credentials are refreshed on the next call
	"RequestExpired":              classRetry, // clock skew; the SDK corrects it

	// Errors that sending again cannot fix.
	"ResourceNotFoundException":   classPermanent,
	"AccessDeniedException":       classPermanent,
	"InvalidArgumentException":    classPermanent,
	"ValidationException":         classPermanent,
	"KMSDisabledException":        classPermanent,
	"KMSNotFoundException":        classPermanent,
	"KMSInvalidStateException":    classPermanent,
	"KMSAccessDeniedException":    classPermanent,
	"KMSOptInRequired":            classPermanent,
	"UnrecognizedClientException": classPermanent,
	"InvalidSignatureException":   classPermanent,
	"IncompleteSignature":         classPermanent,
	"MissingAuthenticationToken":  classPermanent,
	"SerializationException":      classPermanent,
}

// reshardCodes are the error codes that say the stream's shards may be changing under the
// producer. ResourceInUseException says the stream is not ACTIVE for the operation: it is
// UPDATING, as SplitShard, MergeShards and UpdateShardCount leave it. (The API documents
// it for ListShards, not for PutRecords; a PutRecords request or entry that meets it
// anyway is taken the same way.) Besides being retried as errorCodes classes them, these
// codes make the producer read the shard map again (paced: see refreshLoop), so that the
// records it retries after the reshard are aggregated for the new shards instead of being
// found on the wrong shard one request at a time. The other sign of a reshard, a record
// stored on another shard than predicted, is not an error (wrongShardLocked).
var reshardCodes = map[string]bool{
	"ResourceInUseException": true,
}

// reshardingCode reports whether an error code, of a failed request (classifyError's code)
// or of a PutRecords entry, says the stream is being resharded.
func reshardingCode(code string) bool { return reshardCodes[code] }

// classifyCode classifies a per-entry error code of a PutRecords result.
// Unknown codes are retried: the entry was refused by a service that
// accepted the request, so the next attempt may succeed.
func classifyCode(code string) errClass {
	if c, ok := errorCodes[code]; ok {
		return c
	}
	return classRetry
}

// classifyError classifies an error returned by a Kinesis API call and
// returns a short code for metrics and messages: the API error code, "http_"
// and the status, "timeout", "connection" or "unknown".
func classifyError(err error) (errClass, string) {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		if c, ok := errorCodes[apiErr.ErrorCode()]; ok {
			return c, apiErr.ErrorCode()
		}
	}
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) {
		code := "http_" + strconv.Itoa(status.HTTPStatusCode())
		if apiErr != nil && apiErr.ErrorCode() != "" {
			code = apiErr.ErrorCode()
		}
		switch s := status.HTTPStatusCode(); {
		case s == http.StatusTooManyRequests:
			return classThrottle, code
		case s >= 500:
			return classRetry, code
		case s == http.StatusRequestTimeout:
			return classRetry, code
		case s >= 400:
			return classPermanent, code
		}
	}
	if apiErr != nil {
		// A modelled error without an HTTP status: trust the fault side.
		if apiErr.ErrorFault() == smithy.FaultServer {
			return classRetry, apiErr.ErrorCode()
		}
		return classPermanent, apiErr.ErrorCode()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return classRetry, "timeout"
	}
	if errors.Is(err, context.Canceled) {
		return classPermanent, "canceled"
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return classRetry, "connection"
	}
	if (retry.RetryableConnectionError{}).IsErrorRetryable(err) == aws.TrueTernary {
		return classRetry, "connection"
	}
	var deser *smithy.DeserializationError
	if errors.As(err, &deser) {
		// A response cut short or garbled on the way.
		return classRetry, "deserialization"
	}
	return classPermanent, "unknown"
}

// mayHaveStored reports whether Kinesis may have stored the records of a
// PutRecords request that failed with err, so that sending them again may
// duplicate them. It may not when the service answered with a 4xx status (it
// refused the request before storing anything: ResourceInUseException,
// ExpiredTokenException, RequestExpired, throttling) or when the connection
// was never made (a failed dial). Anything else (a 5xx, a timeout, a
// connection lost mid-request, an answer that could not be read) may have
// followed a write.
func mayHaveStored(err error) bool {
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) {
		if s := status.HTTPStatusCode(); s >= 400 && s < 500 {
			return false
		}
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return false
	}
	return true
}

// backoff returns how long to wait before attempt number attempt (1 for the
// first retry): a uniformly random duration in [0, min(max, min*2^(attempt-1))],
// "full jitter". rnd returns a value in [0, n]; nil means math/rand/v2.
func backoff(attempt int, minD, maxD time.Duration, rnd func(n int64) int64) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	ceiling := maxD
	if shift := attempt - 1; shift < 62 && minD <= maxD>>shift {
		ceiling = minD << shift
	}
	if rnd == nil {
		return time.Duration(rand.Int64N(int64(ceiling) + 1))
	}
	return time.Duration(rnd(int64(ceiling)))
}
