package putrecords

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"unicode/utf8"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/otelkinesis/otelkinesis/internal/jsonstr"
	"github.com/otelkinesis/otelkinesis/internal/reqbuf"
)

// serializerID is the ID of the SDK's serialize middleware, which AddSerializer takes the
// place of (keeping the ID, so that middleware placed relative to it still finds it).
const serializerID = "OperationSerializer"

// Target and content type of a PutRecords request in the Kinesis JSON 1.1 protocol.
const (
	target      = "Kinesis_20131202.PutRecords"
	contentType = "application/x-amz-json-1.1"
)

// AddSerializer is an aws-sdk-go-v2 API option (kinesis.Options.APIOptions, or per call
// through an options function) that serialises PutRecords requests as described in the
// package documentation. Other operations pass through to the SDK's serializer unchanged.
// A stack without the SDK's serializer (a different SDK layout) is left as it is, and so
// is one that has this serializer already (a client built with it, given it again per
// call).
func AddSerializer(stack *middleware.Stack) error {
	m := &serializer{}
	return install(stack.Serialize.Swap, serializerID, middleware.SerializeMiddleware(m), func(old middleware.SerializeMiddleware) bool {
		if _, ours := old.(*serializer); ours {
			return false
		}
		m.sdk = old
		return true
	})
}

// install puts ours in the place of the stack step's middleware id through swap, unless
// the step has no such middleware (a different SDK layout: the step is left as it is)
// or keep refuses the one it replaces (one of ours already: it goes back in its place).
func install[M any](swap func(string, M) (M, error), id string, ours M, keep func(old M) bool) error {
	old, err := swap(id, ours)
	if err != nil {
		return nil // not the layout this package knows: keep the SDK's own
	}
	if !keep(old) {
		_, err = swap(id, old)
	}
	return err
}

// WithPutRecords adds AddSerializer and AddDeserializer to a Kinesis client's API
// options (or to one call's):
//
//	client := kinesis.NewFromConfig(cfg, putrecords.WithPutRecords)
func WithPutRecords(o *kinesis.Options) {
	o.APIOptions = append(o.APIOptions, AddSerializer, AddDeserializer)
}

// serializer is the Serialize-step middleware.
type serializer struct {
	sdk middleware.SerializeMiddleware // the SDK's serializer, for other operations
}

// ID keeps the SDK's serializer's ID.
func (*serializer) ID() string { return serializerID }

// HandleSerialize writes a PutRecords request's body, sets the payload hash for the
// signer and passes the request on; the body's buffer returns to the pool once the
// request is done (the SDK closes the body it gave net/http before that, so nothing
// reads the buffer afterwards).
func (m *serializer) HandleSerialize(ctx context.Context, in middleware.SerializeInput, next middleware.SerializeHandler) (
	middleware.SerializeOutput, middleware.Metadata, error,
) {
	input, ok := in.Parameters.(*kinesis.PutRecordsInput)
	req, isHTTP := in.Request.(*smithyhttp.Request)
	if !ok || !isHTTP || input == nil {
		return m.sdk.HandleSerialize(ctx, in, next)
	}
	n := BodySize(input)
	buf := reqbuf.From(ctx) // the caller's own buffer, if it gave one
	own := buf != nil
	if !own {
		buf = getBuffer(n)
	} else if cap(*buf) < n {
		*buf = make([]byte, 0, n)
	}
	body := AppendBody((*buf)[:0], input)
	*buf = body

	req.Method = http.MethodPost
	if req.URL.Path == "" {
		req.URL.Path = "/"
	}
	req.Header.Set("X-Amz-Target", target)
	req.Header.Set("Content-Type", contentType)
	sreq, err := req.SetStream(bytes.NewReader(body))
	if err != nil {
		if !own {
			putBuffer(buf)
		}
		return middleware.SerializeOutput{}, middleware.Metadata{}, fmt.Errorf("putrecords: set request body: %w", err)
	}
	in.Request = sreq
	sum := sha256.Sum256(body)
	ctx = v4.SetPayloadHash(ctx, hex.EncodeToString(sum[:]))

	out, md, err := next.HandleSerialize(ctx, in)
	if !own {
		putBuffer(buf)
	}
	return out, md, err
}

// BodySize returns room enough for the JSON body AppendBody writes for in: its exact
// length when partition keys, explicit hash keys and the stream's name are printable
// ASCII without quotes or backslashes (as they are in practice), a little more otherwise.
func BodySize(in *kinesis.PutRecordsInput) int {
	n, members := 2, 0 // {}
	if in.Records != nil {
		n += len(`"Records":[]`)
		members++
		for i := range in.Records {
			e := &in.Records[i]
			n += 2 // {}
			fields := 0
			if e.Data != nil {
				n += len(`"Data":""`) + base64.StdEncoding.EncodedLen(len(e.Data))
				fields++
			}
			if e.ExplicitHashKey != nil {
				n += len(`"ExplicitHashKey":`) + jsonStringSize(*e.ExplicitHashKey)
				fields++
			}
			if e.PartitionKey != nil {
				n += len(`"PartitionKey":`) + jsonStringSize(*e.PartitionKey)
				fields++
			}
			n += max(fields-1, 0) // commas between fields
		}
		n += max(len(in.Records)-1, 0) // commas between records
	}
	if in.DryRun != nil {
		n += len(`"DryRun":`) + len(strconv.FormatBool(*in.DryRun))
		members++
	}
	if in.StreamARN != nil {
		n += len(`"StreamARN":`) + jsonStringSize(*in.StreamARN)
		members++
	}
	if in.StreamId != nil {
		n += len(`"StreamId":`) + jsonStringSize(*in.StreamId)
		members++
	}
	if in.StreamName != nil {
		n += len(`"StreamName":`) + jsonStringSize(*in.StreamName)
		members++
	}
	return n + max(members-1, 0)
}

// AppendBody appends the JSON body of a PutRecords request for in to dst: the members the
// SDK writes (each when set; an empty but non-nil Records too), record data in standard
// base64.
func AppendBody(dst []byte, in *kinesis.PutRecordsInput) []byte {
	dst = append(dst, '{')
	first := true
	member := func(name string) {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, name...)
	}
	if in.Records != nil {
		member(`"Records":[`)
		for i := range in.Records {
			e := &in.Records[i]
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, '{')
			sep := false
			if e.Data != nil {
				dst = append(dst, `"Data":"`...)
				dst = appendBase64(dst, e.Data)
				dst = append(dst, '"')
				sep = true
			}
			if e.ExplicitHashKey != nil {
				if sep {
					dst = append(dst, ',')
				}
				dst = append(dst, `"ExplicitHashKey":`...)
				dst = jsonstr.Append(dst, *e.ExplicitHashKey)
				sep = true
			}
			if e.PartitionKey != nil {
				if sep {
					dst = append(dst, ',')
				}
				dst = append(dst, `"PartitionKey":`...)
				dst = jsonstr.Append(dst, *e.PartitionKey)
			}
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	if in.DryRun != nil {
		member(`"DryRun":`)
		dst = strconv.AppendBool(dst, *in.DryRun)
	}
	if in.StreamARN != nil {
		member(`"StreamARN":`)
		dst = jsonstr.Append(dst, *in.StreamARN)
	}
	if in.StreamId != nil {
		member(`"StreamId":`)
		dst = jsonstr.Append(dst, *in.StreamId)
	}
	if in.StreamName != nil {
		member(`"StreamName":`)
		dst = jsonstr.Append(dst, *in.StreamName)
	}
	return append(dst, '}')
}

// appendBase64 appends the standard base64 encoding of src to dst, growing dst at most
// once.
func appendBase64(dst, src []byte) []byte {
	n := base64.StdEncoding.EncodedLen(len(src))
	if cap(dst)-len(dst) < n {
		grown := make([]byte, len(dst), len(dst)+n+len(dst)/4)
		copy(grown, dst)
		dst = grown
	}
	encodeBase64(dst[len(dst):len(dst)+n], src)
	return dst[:len(dst)+n]
}

// jsonStringSize bounds the length of jsonstr.Append's output for s: exact
// when s is printable ASCII without quotes or backslashes (keys, stream names), else
// counting 6 bytes (\u00XX, the longest escape) for every other byte.
func jsonStringSize(s string) int {
	n := 2
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x20 && c < utf8.RuneSelf && c != '"' && c != '\\' {
			n++
		} else {
			n += 6
		}
	}
	return n
}

// maxPooled is the largest buffer kept for reuse: a 10 MiB request's body in base64 with
// its JSON framing.
const maxPooled = 14 << 20

var buffers sync.Pool // *[]byte

// getBuffer returns an empty buffer with room for n bytes.
func getBuffer(n int) *[]byte {
	if b, ok := buffers.Get().(*[]byte); ok && cap(*b) >= n {
		*b = (*b)[:0]
		return b
	}
	// None, or one too small: that one is left to the garbage collector, and the new one
	// is rounded up to a multiple of 256 KiB, so that the pool settles on buffers that fit
	// the largest requests without holding much more than they need.
	const step = 256 << 10
	size := (n + step - 1) / step * step
	b := make([]byte, 0, size)
	return &b
}

// putBuffer gives a buffer back for reuse.
func putBuffer(b *[]byte) {
	if cap(*b) <= maxPooled {
		buffers.Put(b)
	}
}
