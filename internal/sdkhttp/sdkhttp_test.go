package sdkhttp

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

type recordingClient struct{ body io.ReadCloser }

func (c *recordingClient) Do(r *http.Request) (*http.Response, error) {
	c.body = r.Body
	return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
}

// readerCloser is a body like the SDK's: after Close it reads as empty, and its WriteTo
// answers io.EOF, the behaviour that breaks net/http (see the package doc).
type readerCloser struct {
	*bytes.Reader
	closed bool
}

func (b *readerCloser) Close() error { b.closed = true; return nil }

func (b *readerCloser) Read(p []byte) (int, error) {
	if b.closed {
		return 0, io.EOF
	}
	return b.Reader.Read(p)
}

func (b *readerCloser) WriteTo(w io.Writer) (int64, error) {
	if b.closed {
		return 0, io.EOF
	}
	return b.Reader.WriteTo(w)
}

// TestWrap checks that the body net/http gets no longer offers WriteTo, so that
// copying a closed body ends cleanly, and that the caller's request is left alone.
func TestWrap(t *testing.T) {
	next := &recordingClient{}
	c := Wrap(next)
	body := &readerCloser{Reader: bytes.NewReader([]byte("payload"))}
	req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1/", body)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(req); err != nil {
		t.Fatal(err)
	}
	if _, ok := next.body.(io.WriterTo); ok {
		t.Fatal("the body handed on still has WriteTo")
	}
	if req.Body != io.ReadCloser(body) {
		t.Error("the caller's request was modified")
	}
	_ = body.Close()
	// What net/http does after sending the body: copy whatever is left to io.Discard.
	if n, err := io.Copy(io.Discard, next.body); n != 0 || err != nil {
		t.Errorf("copying the closed body: %d, %v; want 0, nil", n, err)
	}
	if _, err := io.Copy(io.Discard, body); err == nil {
		t.Error("the unwrapped body did not show the failure this guards against")
	}
	if _, ok := Wrap(nil).(client); !ok {
		t.Error("Wrap(nil) did not wrap a default client")
	}
	if w := Wrap(c); w != c {
		t.Error("Wrap wrapped a wrapped client again")
	}
}
