package kinesistest

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/aws/smithy-go"

	"github.com/otelkinesis/otelkinesis/internal/plural"
)

// APIError is an error answer as Kinesis writes it: an HTTP status and a JSON body
// {"__type": Type, "message": Message}. The server answers with one when a request is
// invalid, and a test injects one with a [Fault]. Methods of [Server] and [Stream] that
// change streams return one as their error.
type APIError struct {
	// StatusCode is the HTTP status: 400 for client errors, 500 and 503 for server faults.
	StatusCode int
	// Type is the error code in the body's __type field, such as
	// "ResourceNotFoundException"; aws-sdk-go-v2 reports it as ErrorCode().
	Type string
	// Message is the body's message field. In an injected fault, an empty Message is
	// replaced by the one Kinesis writes for Type, naming the request's stream.
	Message string
}

// Error returns "Type: Message".
func (e *APIError) Error() string { return e.Type + ": " + e.Message }

// ErrorCode returns Type. With ErrorMessage and ErrorFault it makes APIError a
// smithy.APIError, the interface aws-sdk-go-v2's errors share.
func (e *APIError) ErrorCode() string { return e.Type }

// ErrorMessage returns Message.
func (e *APIError) ErrorMessage() string { return e.Message }

// ErrorFault reports a server fault for a 5xx status, else a client fault.
func (e *APIError) ErrorFault() smithy.ErrorFault {
	if e.StatusCode >= http.StatusInternalServerError {
		return smithy.FaultServer
	}
	return smithy.FaultClient
}

// Error codes Kinesis answers with.
const (
	typeValidation          = "ValidationException"
	typeSerialization       = "SerializationException"
	typeInvalidArgument     = "InvalidArgumentException"
	typeResourceNotFound    = "ResourceNotFoundException"
	typeResourceInUse       = "ResourceInUseException"
	typeLimitExceeded       = "LimitExceededException"
	typeExpiredIterator     = "ExpiredIteratorException"
	typeExpiredNextToken    = "ExpiredNextTokenException"
	typeUnknownOperation    = "UnknownOperationException"
	typeThroughputExceeded  = "ProvisionedThroughputExceededException"
	typeInternalFailure     = "InternalFailure"
	typeServiceUnavailable  = "ServiceUnavailable"
	typeThrottling          = "ThrottlingException"
	typeKMSThrottling       = "KMSThrottlingException"
	typeAccessDenied        = "AccessDeniedException"
	typeDryRunOperation     = "DryRunOperationException"
	internalFailureMessage  = "Internal service failure."
	serviceUnavailableText  = "Service Unavailable"
	maxValidationErrorCount = 10
)

func clientError(typ, format string, args ...any) *APIError {
	return &APIError{StatusCode: http.StatusBadRequest, Type: typ, Message: fmt.Sprintf(format, args...)}
}

func invalidArgument(format string, args ...any) *APIError {
	return clientError(typeInvalidArgument, format, args...)
}

func (s *Server) streamNotFound(name string) *APIError {
	return clientError(typeResourceNotFound, "Stream %s under account %s not found.", name, s.cfg.accountID)
}

func (s *Server) shardNotFound(shardID, stream string) *APIError {
	return clientError(typeResourceNotFound, "Shard %s in stream %s under account %s does not exist", shardID, stream, s.cfg.accountID)
}

func (s *Server) rateExceeded(shardID, stream string) string {
	return fmt.Sprintf("Rate exceeded for shard %s in stream %s under account %s.", shardID, stream, s.cfg.accountID)
}

// defaultMessage is the message Kinesis writes for an error of type typ on a request for
// stream by operation op; it fills injected faults that carry no message.
func (s *Server) defaultMessage(typ, op, stream string) string {
	if stream == "" {
		stream = "unknown"
	}
	arn := s.streamARN(stream)
	switch typ {
	case typeResourceNotFound:
		return s.streamNotFound(stream).Message
	case typeAccessDenied:
		return fmt.Sprintf("User: arn:aws:iam::%s:user/kinesistest is not authorized to perform: kinesis:%s on resource: %s because no identity-based policy allows the kinesis:%s action",
			s.cfg.accountID, op, arn, op)
	case typeLimitExceeded:
		return fmt.Sprintf("Rate exceeded for stream %s under account %s.", stream, s.cfg.accountID)
	case typeThrottling:
		return "Rate exceeded"
	case typeKMSThrottling:
		return "The request was denied due to request throttling. For more information about throttling, see Limits in the AWS Key Management Service Developer Guide."
	case typeThroughputExceeded:
		return fmt.Sprintf("Rate exceeded for stream %s under account %s.", stream, s.cfg.accountID)
	case typeInternalFailure, "InternalFailureException":
		return internalFailureMessage
	case typeServiceUnavailable:
		return serviceUnavailableText
	}
	return typ
}

// validator gathers constraint violations and reports them as Kinesis does: one
// ValidationException listing up to ten of them.
type validator struct {
	errs []string
}

// fail records that the member at path, with value shown as value (nil for null),
// breaks constraint.
func (v *validator) fail(value *string, path, constraint string) {
	if len(v.errs) >= maxValidationErrorCount {
		return
	}
	shown := "null"
	if value != nil {
		shown = "'" + *value + "'"
	}
	v.errs = append(v.errs, fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: %s", shown, path, constraint))
}

func (v *validator) notNull(present bool, path string) {
	if !present {
		v.fail(nil, path, "Member must not be null")
	}
}

// length checks n (the length of the member shown as value) against min and max;
// max < 0 means no maximum.
func (v *validator) length(value string, n int, path string, min, max int) {
	switch {
	case n < min:
		v.fail(&value, path, "Member must have length greater than or equal to "+strconv.Itoa(min))
	case max >= 0 && n > max:
		v.fail(&value, path, "Member must have length less than or equal to "+strconv.Itoa(max))
	}
}

func (v *validator) intRange(n *int64, path string, min, max int64) {
	if n == nil {
		return
	}
	s := strconv.FormatInt(*n, 10)
	switch {
	case *n < min:
		v.fail(&s, path, "Member must have value greater than or equal to "+strconv.FormatInt(min, 10))
	case *n > max:
		v.fail(&s, path, "Member must have value less than or equal to "+strconv.FormatInt(max, 10))
	}
}

func (v *validator) pattern(value *string, path, pattern string, ok func(string) bool) {
	if value != nil && !ok(*value) {
		v.fail(value, path, "Member must satisfy regular expression pattern: "+pattern)
	}
}

func (v *validator) enum(value *string, path string, allowed ...string) {
	if value == nil {
		return
	}
	for _, a := range allowed {
		if *value == a {
			return
		}
	}
	v.fail(value, path, "Member must satisfy enum value set: ["+strings.Join(allowed, ", ")+"]")
}

func (v *validator) err() *APIError {
	if len(v.errs) == 0 {
		return nil
	}
	return clientError(typeValidation, "%s detected: %s", plural.Count(len(v.errs), "validation error"), strings.Join(v.errs, "; "))
}

// blobValue is how Kinesis shows a blob in a validation message.
func blobValue(n int) string {
	return fmt.Sprintf("java.nio.HeapByteBuffer[pos=0 lim=%d cap=%d]", n, n)
}
