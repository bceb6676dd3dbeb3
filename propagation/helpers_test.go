package propagation

import (
	"crypto/md5"
	"encoding/base64"
	"math/big"
	"sync"
	"testing"

	"github.com/aws/smithy-go/middleware"
	"go.opentelemetry.io/otel"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// md5Decimal is the hash key of pk, computed with math/big as a reference.
func md5Decimal(pk string) string {
	sum := md5.Sum([]byte(pk))
	return new(big.Int).SetBytes(sum[:]).String()
}

// kinesisMiddlewareStack is the stack an API option edits.
type kinesisMiddlewareStack = middleware.Stack

func base64Decode(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }

// testErrorHandler forwards otel.Handle to the function a test installs.
type testErrorHandler struct {
	mu sync.Mutex
	f  func(error)
}

func (h *testErrorHandler) Handle(err error) {
	h.mu.Lock()
	f := h.f
	h.mu.Unlock()
	if f != nil {
		f(err)
	}
}

var (
	errHandler     = &testErrorHandler{}
	errHandlerOnce sync.Once
)

// setErrorHandler sends otel.Handle's errors to f until restore is called.
func setErrorHandler(f func(error)) (restore func()) {
	errHandlerOnce.Do(func() { otel.SetErrorHandler(errHandler) })
	errHandler.mu.Lock()
	errHandler.f = f
	errHandler.mu.Unlock()
	return func() {
		errHandler.mu.Lock()
		errHandler.f = nil
		errHandler.mu.Unlock()
	}
}
