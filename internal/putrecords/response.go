package putrecords

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/otelkinesis/otelkinesis/internal/jsonstr"
)

// deserializerID is the ID of the SDK's deserialize middleware, which AddDeserializer
// takes the place of for PutRecords.
const deserializerID = "OperationDeserializer"

// AddDeserializer is an aws-sdk-go-v2 API option that reads successful PutRecords
// responses with a parser made for them, instead of the SDK's generic schema-driven
// decoder, which costs more than the rest of a small request's round trip. It fills the
// same PutRecordsOutput: FailedRecordCount, EncryptionType and, for every entry,
// SequenceNumber and ShardId or ErrorCode and ErrorMessage, members absent or null left
// nil, unknown members skipped. Error responses (any status but 2xx) and transport
// failures still go to the SDK's deserializer, which turns them into its API errors.
// Stacks of other operations, and a stack without the SDK's deserializer, are left as
// they are, and so is a stack that has this deserializer already.
func AddDeserializer(stack *middleware.Stack) error {
	if stack.ID() != "PutRecords" {
		return nil
	}
	m := &deserializer{}
	return install(stack.Deserialize.Swap, deserializerID, middleware.DeserializeMiddleware(m), func(old middleware.DeserializeMiddleware) bool {
		if _, ours := old.(*deserializer); ours {
			return false
		}
		m.sdk = old
		return true
	})
}

// deserializer is the Deserialize-step middleware.
type deserializer struct {
	sdk middleware.DeserializeMiddleware // the SDK's, for error responses
}

// ID keeps the SDK's deserializer's ID.
func (*deserializer) ID() string { return deserializerID }

// HandleDeserialize reads a successful PutRecords response into a PutRecordsOutput and
// hands anything else to the SDK's deserializer.
func (m *deserializer) HandleDeserialize(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (
	middleware.DeserializeOutput, middleware.Metadata, error,
) {
	out, md, err := next.HandleDeserialize(ctx, in)
	resp, ok := out.RawResponse.(*smithyhttp.Response)
	if err != nil || !ok || resp.StatusCode < 200 || resp.StatusCode > 299 {
		return m.sdk.HandleDeserialize(ctx, in, replay{out, md, err})
	}
	defer func() { _ = resp.Body.Close() }()
	buf := readPool.Get().(*[]byte)
	defer readPool.Put(buf)
	body, err := readAll(resp.Body, (*buf)[:0])
	*buf = body[:0]
	if err != nil {
		return out, md, &smithy.DeserializationError{Err: fmt.Errorf("reading the PutRecords response: %w", err)}
	}
	result := &kinesis.PutRecordsOutput{}
	if err := ParseOutput(body, result); err != nil {
		return out, md, &smithy.DeserializationError{Err: err, Snapshot: append([]byte(nil), body[:min(len(body), 1024)]...)}
	}
	out.Result = result
	return out, md, nil
}

// replay is a DeserializeHandler that returns what the handler after the deserializer
// returned already.
type replay struct {
	out middleware.DeserializeOutput
	md  middleware.Metadata
	err error
}

func (r replay) HandleDeserialize(context.Context, middleware.DeserializeInput) (middleware.DeserializeOutput, middleware.Metadata, error) {
	return r.out, r.md, r.err
}

// readPool holds the buffers responses are read into: each response is parsed into
// strings of its own, so the buffer is free again once parsed.
var readPool = sync.Pool{New: func() any { b := make([]byte, 0, 32<<10); return &b }}

// readAll appends everything r holds to b.
func readAll(r io.Reader, b []byte) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// maxDepth bounds the nesting of the values ParseOutput skips.
const maxDepth = 64

// errSyntax is what ParseOutput returns for a body that is not the JSON of a
// PutRecordsOutput, wrapped with the offset.
var errSyntax = errors.New("not a PutRecords response")

// ParseOutput parses a PutRecords response body of the JSON 1.1 protocol into out, as
// the SDK's decoder does for a valid body.
func ParseOutput(body []byte, out *kinesis.PutRecordsOutput) error {
	p := outputParser{s: string(body)} // one copy; strings without escapes are slices of it
	if err := p.parse(out); err != nil {
		return fmt.Errorf("putrecords: response at byte %d: %w", p.i, err)
	}
	return nil
}

// outputParser reads one PutRecords response.
type outputParser struct {
	s string
	i int
	// Strings go into one slice, and the entries point into it once it stops growing.
	strs    []string
	entries []entryRefs
}

// entryRefs are the indexes in strs of one entry's members, -1 for absent.
type entryRefs struct{ code, message, seq, shard int32 }

func (p *outputParser) parse(out *kinesis.PutRecordsOutput) error {
	if p.s == "" {
		return nil // an empty body is an empty output, as the SDK reads it
	}
	var records, failed bool
	var failedN int32
	var encryption string
	var hasEncryption bool
	err := p.object(func(name string) error {
		switch name {
		case "Records":
			p.entries = p.entries[:0]
			if p.null() {
				records = false
				return nil
			}
			records = true
			return p.array(p.entry)
		case "FailedRecordCount":
			if p.null() {
				failed = false
				return nil
			}
			n, err := p.int32()
			failed, failedN = err == nil, n
			return err
		case "EncryptionType":
			if p.null() {
				hasEncryption = false
				return nil
			}
			s, err := p.str()
			encryption, hasEncryption = s, err == nil
			return err
		default:
			return p.skip(0)
		}
	})
	if err != nil {
		return err
	}
	// What follows the object is not read, as the SDK's decoder does not read it.
	if failed {
		out.FailedRecordCount = &failedN
	}
	if hasEncryption {
		out.EncryptionType = types.EncryptionType(encryption)
	}
	if records {
		out.Records = make([]types.PutRecordsResultEntry, len(p.entries))
		ref := func(i int32) *string {
			if i < 0 {
				return nil
			}
			return &p.strs[i]
		}
		for i, e := range p.entries {
			r := &out.Records[i]
			r.ErrorCode, r.ErrorMessage, r.SequenceNumber, r.ShardId = ref(e.code), ref(e.message), ref(e.seq), ref(e.shard)
		}
	}
	return nil
}

// entry reads one element of Records into p.entries: an object, or null for an entry
// with no members.
func (p *outputParser) entry() error {
	e := entryRefs{-1, -1, -1, -1}
	if p.null() {
		p.entries = append(p.entries, e)
		return nil
	}
	err := p.object(func(name string) error {
		var ref *int32
		switch name {
		case "ErrorCode":
			ref = &e.code
		case "ErrorMessage":
			ref = &e.message
		case "SequenceNumber":
			ref = &e.seq
		case "ShardId":
			ref = &e.shard
		default:
			return p.skip(0)
		}
		*ref = -1
		if p.null() {
			return nil
		}
		s, err := p.str()
		if err != nil {
			return err
		}
		*ref = int32(len(p.strs))
		p.strs = append(p.strs, s)
		return nil
	})
	p.entries = append(p.entries, e)
	return err
}

// ws skips white space.
func (p *outputParser) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// null consumes a null literal if one is next.
func (p *outputParser) null() bool {
	p.ws()
	if len(p.s)-p.i >= 4 && p.s[p.i:p.i+4] == "null" {
		p.i += 4
		return true
	}
	return false
}

// expect consumes the byte c, after white space.
func (p *outputParser) expect(c byte) error {
	p.ws()
	if p.i >= len(p.s) || p.s[p.i] != c {
		return fmt.Errorf("%w: want %q", errSyntax, c)
	}
	p.i++
	return nil
}

// peek returns the next byte after white space, 0 at the end.
func (p *outputParser) peek() byte {
	p.ws()
	if p.i >= len(p.s) {
		return 0
	}
	return p.s[p.i]
}

// object reads an object, calling member with each member's name with the parser
// before its value, which member must consume.
func (p *outputParser) object(member func(name string) error) error {
	if err := p.expect('{'); err != nil {
		return err
	}
	if p.peek() == '}' {
		p.i++
		return nil
	}
	for {
		name, err := p.str()
		if err != nil {
			return err
		}
		if err := p.expect(':'); err != nil {
			return err
		}
		if err := member(name); err != nil {
			return err
		}
		switch p.peek() {
		case ',':
			p.i++
		case '}':
			p.i++
			return nil
		default:
			return fmt.Errorf("%w: want ',' or '}'", errSyntax)
		}
	}
}

// array reads an array, calling elem with the parser before each element, which elem
// must consume.
func (p *outputParser) array(elem func() error) error {
	if err := p.expect('['); err != nil {
		return err
	}
	if p.peek() == ']' {
		p.i++
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		switch p.peek() {
		case ',':
			p.i++
		case ']':
			p.i++
			return nil
		default:
			return fmt.Errorf("%w: want ',' or ']'", errSyntax)
		}
	}
}

// str reads a string: a slice of the body when it has no escapes.
func (p *outputParser) str() (string, error) {
	if err := p.expect('"'); err != nil {
		return "", err
	}
	start, escaped := p.i, false
	for p.i < len(p.s) {
		switch c := p.s[p.i]; {
		case c == '"':
			raw := p.s[start:p.i]
			p.i++
			if !escaped {
				return raw, nil
			}
			if s, ok := jsonstr.Decode(raw); ok {
				return s, nil
			}
			return "", fmt.Errorf("%w: bad escape", errSyntax)
		case c == '\\':
			escaped = true
			p.i += 2 // the escaped character is never the end of the string
			continue
		case c < ' ':
			return "", fmt.Errorf("%w: control character in a string", errSyntax)
		}
		p.i++
	}
	return "", fmt.Errorf("%w: unterminated string", errSyntax)
}

// number reads a JSON number and returns its text.
func (p *outputParser) number() (string, error) {
	p.ws()
	start := p.i
	if p.i < len(p.s) && p.s[p.i] == '-' {
		p.i++
	}
	digits := func() int {
		n := 0
		for p.i < len(p.s) && '0' <= p.s[p.i] && p.s[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	first := p.i
	if n := digits(); n == 0 || n > 1 && p.s[first] == '0' {
		return "", fmt.Errorf("%w: bad number", errSyntax)
	}
	if p.i < len(p.s) && p.s[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return "", fmt.Errorf("%w: bad number", errSyntax)
		}
	}
	if p.i < len(p.s) && (p.s[p.i] == 'e' || p.s[p.i] == 'E') {
		p.i++
		if p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return "", fmt.Errorf("%w: bad number", errSyntax)
		}
	}
	return p.s[start:p.i], nil
}

// int32 reads a number that must be an integer in the range of int32.
func (p *outputParser) int32() (int32, error) {
	text, err := p.number()
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(text, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%w: FailedRecordCount %s is not an int32", errSyntax, text)
	}
	return int32(n), nil
}

// skip consumes one value of any kind, nested at most maxDepth deep.
func (p *outputParser) skip(depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: nested deeper than %d", errSyntax, maxDepth)
	}
	switch c := p.peek(); {
	case c == '{':
		return p.object(func(string) error { return p.skip(depth + 1) })
	case c == '[':
		return p.array(func() error { return p.skip(depth + 1) })
	case c == '"':
		_, err := p.str()
		return err
	case c == '-' || '0' <= c && c <= '9':
		_, err := p.number()
		return err
	}
	for _, lit := range []string{"true", "false", "null"} {
		if len(p.s)-p.i >= len(lit) && p.s[p.i:p.i+len(lit)] == lit {
			p.i += len(lit)
			return nil
		}
	}
	return fmt.Errorf("%w: want a value", errSyntax)
}
