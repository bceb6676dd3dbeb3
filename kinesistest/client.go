package kinesistest

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/otelkinesis/otelkinesis/internal/sdkhttp"
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
// a client of your own. The otelkinesis exporters apply it to their own clients.
func HTTPClient() aws.HTTPClient {
	return sdkhttp.Wrap(nil)
}

// WrapHTTPClient returns c with the fix described at [HTTPClient], for a test that tunes
// its own client (awshttp.NewBuildableClient().WithTransportOptions(...)). A nil c
// stands for awshttp.NewBuildableClient().
func WrapHTTPClient(c aws.HTTPClient) aws.HTTPClient {
	return sdkhttp.Wrap(c)
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
