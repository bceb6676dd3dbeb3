// Package sdkhttp holds the HTTP client fix every aws-sdk-go-v2 Kinesis client of this
// module uses.
//
// The race it fixes: the SDK closes a request's body as soon as the response headers
// arrive, and once closed the body's WriteTo returns io.EOF. net/http, after sending a
// body, checks it for extra bytes with a WriteTo; when the server answered before that
// check runs (a fast endpoint can), net/http takes the io.EOF for a write failure and
// closes the connection while the response body is still being read. The call then fails
// with "use of closed network connection" although the server served it, and a retry
// writes the records a second time. Hiding WriteTo from net/http makes a closed body read
// as an ordinary end of data.
package sdkhttp

import (
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// Wrap returns c with the fix. A nil c stands for awshttp.NewBuildableClient(). Wrap the
// client after config.LoadDefaultConfig, which needs the BuildableClient itself to apply
// AWS_CA_BUNDLE.
func Wrap(c aws.HTTPClient) aws.HTTPClient {
	if c == nil {
		c = awshttp.NewBuildableClient()
	}
	if _, ok := c.(client); ok {
		return c
	}
	return client{c}
}

type client struct{ next aws.HTTPClient }

// readOnlyBody hides every method of a request body but Read and Close.
type readOnlyBody struct{ io.ReadCloser }

// Do sends r with its body wrapped in readOnlyBody.
func (c client) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r = r.WithContext(r.Context()) // a shallow copy to change
		r.Body = readOnlyBody{r.Body}
	}
	return c.next.Do(r)
}
