package kinesistest

import (
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// HTTPClient returns an HTTP client for aws-sdk-go-v2 clients of a local endpoint such
// as this server: awshttp.NewBuildableClient (which, unlike a plain *http.Client, keeps
// working when AWS_CA_BUNDLE is set) with a fix for a race that a fast endpoint exposes.
//
// The race: the SDK closes a request's body as soon as the response headers arrive, and
// once closed the body's WriteTo returns io.EOF. net/http, after sending a body, checks
// it for extra bytes with a WriteTo; when the server has answered before that check
// runs, which a loopback server can, net/http takes the io.EOF for a write failure and
// closes the connection while the response body is still being read. The client then
// fails with "use of closed network connection" on a request the server served, and a
// retrying client sends it again. This client hides WriteTo from net/http, so that a
// closed body reads as an ordinary end of data. [WrapHTTPClient] applies the same fix to
// a client of your own.
func HTTPClient() aws.HTTPClient {
	return WrapHTTPClient(awshttp.NewBuildableClient())
}

// WrapHTTPClient returns c with the fix described at [HTTPClient], for a test that tunes
// its own client (awshttp.NewBuildableClient().WithTransportOptions(...)). A nil c
// stands for awshttp.NewBuildableClient().
func WrapHTTPClient(c aws.HTTPClient) aws.HTTPClient {
	if c == nil {
		c = awshttp.NewBuildableClient()
	}
	return bodyWrapClient{c}
}

type bodyWrapClient struct{ next aws.HTTPClient }

// readOnlyBody hides every method of a request body but Read and Close.
type readOnlyBody struct{ io.ReadCloser }

// Do sends r with its body wrapped in readOnlyBody.
func (c bodyWrapClient) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r = r.WithContext(r.Context()) // a shallow copy to change
		r.Body = readOnlyBody{r.Body}
	}
	return c.next.Do(r)
}

// AWSConfig returns the aws.Config for a Kinesis client of this server:
// kinesis.NewFromConfig(srv.AWSConfig()). It sets the server's region, static test
// credentials, BaseEndpoint to [Server.URL], account ID endpoint mode disabled (so that
// AWS_ACCOUNT_ID_ENDPOINT_MODE=required in the environment does not break it), the SDK's
// retries off (every call is exactly one request, so a test counts what it sent), and
// [HTTPClient]. Change fields of the result to taste.
func (s *Server) AWSConfig() aws.Config {
	return aws.Config{
		Region:                s.cfg.region,
		Credentials:           credentials.NewStaticCredentialsProvider("AKIDKINESISTEST", "kinesistest-secret", ""),
		HTTPClient:            HTTPClient(),
		Retryer:               func() aws.Retryer { return aws.NopRetryer{} },
		BaseEndpoint:          aws.String(s.url),
		AccountIDEndpointMode: aws.AccountIDEndpointModeDisabled,
	}
}
