package putrecords

import (
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/smithy-go/middleware"
)

func utf8Valid(s string) bool { return utf8.ValidString(s) }

// plainASCII reports whether every key and name of in is printable ASCII without quotes
// or backslashes, for which BodySize is exact.
func plainASCII(in *kinesis.PutRecordsInput) bool {
	plain := func(p *string) bool {
		if p == nil {
			return true
		}
		for _, c := range []byte(*p) {
			if c < 0x20 || c >= 0x80 || c == '"' || c == '\\' {
				return false
			}
		}
		return true
	}
	for _, e := range in.Records {
		if !plain(e.PartitionKey) || !plain(e.ExplicitHashKey) {
			return false
		}
	}
	return plain(in.StreamARN) && plain(in.StreamId) && plain(in.StreamName)
}

// removeValidation drops the SDK's input validation, so that the SDK's serializer can be
// compared with ours on inputs the validation refuses.
func removeValidation(stack *middleware.Stack) error {
	_, err := stack.Initialize.Remove("OperationInputValidation")
	return err
}
