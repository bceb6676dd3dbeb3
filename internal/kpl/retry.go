package kpl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	"go.opentelemetry.io/otel"

	"github.com/otelkinesis/otelkinesis/internal/backoff"
)

// errClass is what the producer does after an error.
type errClass uint8

const (
	classRetry     errClass = iota // send again after a backoff
	classThrottle                  // send again after a backoff; the shard or stream is over capacity
	classPermanent                 // give up at once: sending again cannot succeed
)

// Error codes by class. Codes not listed are classified by their
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
	"ExpiredToken":                classRetry,
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
// and the status, "credentials", "dns", "connection_refused", "connection",
// "timeout" or "unknown".
//
// Only what cannot clear by itself is permanent: a missing stream, denied
// access, a request Kinesis found invalid, a KMS key disabled or missing (the
// codes in errorCodes), other 4xx answers, and a cancelled call. Everything
// that may clear is retried within the delivery budget: throttling and 5xx
// answers, credentials that cannot be fetched yet or have expired (the
// instance metadata service, SSO or STS failing; see credentialsFailure), DNS
// failures, refused or reset connections and timeouts.
func classifyError(err error) (errClass, string) {
	if credentialsFailure(err) {
		return classRetry, "credentials"
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		if c, ok := errorCodes[apiErr.ErrorCode()]; ok {
			return c, apiErr.ErrorCode()
		}
	}
	if s := httpStatus(err); s > 0 {
		code := "http_" + strconv.Itoa(s)
		if apiErr != nil && apiErr.ErrorCode() != "" {
			code = apiErr.ErrorCode()
		}
		switch {
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
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		// The SDK does not retry a host that is not found; a resolver that
		// is not ready yet, or a name not yet published, clears by itself.
		return classRetry, "dns"
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return classRetry, "connection_refused"
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return classRetry, "timeout"
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

// httpStatus returns the HTTP status of the answer an error carries, or 0 if the call got
// no answer (the SDK reports a request that could not be sent as a response error of
// status 0).
func httpStatus(err error) int {
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) {
		return status.HTTPStatusCode()
	}
	return 0
}

// answered reports whether Kinesis answered the call that failed with err: it carries an
// HTTP status. Only failures Kinesis answered count against max_retries; a call that
// could not reach it (no credentials, DNS, refused or reset connections, timeouts) says
// nothing about the records, and only the delivery budget bounds those.
func answered(err error) bool { return !credentialsFailure(err) && httpStatus(err) >= 100 }

// credentialsFailure reports whether err is a failure to get credentials rather than an
// answer of Kinesis: it wraps a CredentialsError (the providers of the clients this
// project builds are wrapped with WrapCredentials), or the SDK's error for the Kinesis
// operation wraps the error of another service's operation, which only a credentials
// provider calls (the instance metadata service, STS, SSO).
func credentialsFailure(err error) bool {
	var ce *CredentialsError
	if errors.As(err, &ce) {
		return true
	}
	var op *smithy.OperationError
	if !errors.As(err, &op) {
		return false
	}
	var inner *smithy.OperationError
	return errors.As(op.Err, &inner) && inner.ServiceID != op.ServiceID
}

// CredentialsError is a failure of the credentials provider: the SDK could not sign a
// request because credentials could not be fetched. The producer retries such requests
// within the delivery budget, as it does a request that could not reach Kinesis.
type CredentialsError struct {
	// Err is the provider's error.
	Err error
}

// Error says that credentials could not be fetched, and why.
func (e *CredentialsError) Error() string { return "cannot get AWS credentials: " + e.Err.Error() }

// Unwrap returns the provider's error.
func (e *CredentialsError) Unwrap() error { return e.Err }

// WrapCredentials returns a credentials provider that calls p and wraps its failures in
// a CredentialsError, so that the producer tells a request that could not be signed from
// one Kinesis refused, whatever the provider. nil stays nil. The result is cached by the
// service client as any provider is.
func WrapCredentials(p aws.CredentialsProvider) aws.CredentialsProvider {
	if p == nil {
		return nil
	}
	if _, ok := p.(credentialsWrapper); ok {
		return p
	}
	return credentialsWrapper{p}
}

type credentialsWrapper struct{ p aws.CredentialsProvider }

// IsCredentialsProvider lets the SDK see the provider wrapped (it skips signing for
// aws.AnonymousCredentials).
func (w credentialsWrapper) IsCredentialsProvider(target aws.CredentialsProvider) bool {
	return aws.IsCredentialsProvider(w.p, target)
}

func (w credentialsWrapper) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := w.p.Retrieve(ctx)
	if err != nil {
		return c, &CredentialsError{Err: err}
	}
	return c, nil
}

// mayHaveStored reports whether Kinesis may have stored the records of a
// PutRecords request that failed with err, so that sending them again may
// duplicate them. It may not when the service answered with a 4xx status (it
// refused the request before storing anything: ResourceInUseException,
// ExpiredTokenException, RequestExpired, throttling) or when the connection
// was never made (a failed dial, or no credentials to sign it). Anything else (a 5xx, a timeout, a
// connection lost mid-request, an answer that could not be read) may have
// followed a write.
func mayHaveStored(err error) bool {
	if credentialsFailure(err) {
		return false // never signed, never sent
	}
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

// backoffGrowth is the factor by which the ceiling of the wait grows from one attempt
// to the next.
const backoffGrowth = 3

// retryWait returns how long to wait before attempt number attempt (1 for the
// first retry): a random duration in [c/2, c], where c = min(maxD,
// minD * 3^(attempt-1)) ("equal jitter", backoff.Equal: random enough that
// many waiting records do not retry together, and never shorter than half the
// step, so that retries cannot run through their number in a moment). With
// the defaults (100ms, 60s) the ceilings are 100ms, 300ms, 900ms, 2.7s, 8.1s,
// 24.3s and then 60s, and ten retries take 138s to 276s. rnd returns a value
// in [0, n]; nil means math/rand/v2.
func retryWait(attempt int, minD, maxD time.Duration, rnd func(n int64) int64) time.Duration {
	return backoff.Equal(backoff.Ceiling(attempt, minD, maxD, backoffGrowth), rnd)
}

// handle reports an error of the producer's own (a drop, a failing background call)
// through otel.Handle, under the library's name.
func handle(err error) { otel.Handle(fmt.Errorf("otelkinesis: %w", err)) }
