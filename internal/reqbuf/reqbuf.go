// Package reqbuf hands the buffer a PutRecords request's body is to be written into from
// the caller to the body writer (internal/putrecords) through the call's context, so that
// the caller owns that memory: it can count it against a budget and reuse it.
package reqbuf

import "context"

type key struct{}

// With returns a context under which a PutRecords call writes its body into *buf: into
// the buffer *buf holds if it has room enough, else into a new one of the body's size,
// left in *buf. The caller may reuse the buffer once the call returned.
func With(ctx context.Context, buf *[]byte) context.Context {
	return context.WithValue(ctx, key{}, buf)
}

// From returns the buffer With put in ctx, nil if none.
func From(ctx context.Context) *[]byte {
	buf, _ := ctx.Value(key{}).(*[]byte)
	return buf
}
