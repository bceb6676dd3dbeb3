package kpl_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/otelkinesis/otelkinesis/internal/kpl"
	"github.com/otelkinesis/otelkinesis/internal/testpeers"
	"github.com/otelkinesis/otelkinesis/kinesistest"
)

// TestClassifyRealSDKErrors classifies the errors aws-sdk-go-v2 really returns, by making
// real calls: against kinesistest answering each error Kinesis documents, against
// endpoints that refuse, hang up, never answer or cannot be resolved, and with
// credentials providers that fail. Only what cannot clear by itself is permanent; and
// only what Kinesis answered counts against max_retries.
func TestClassifyRealSDKErrors(t *testing.T) {
	srv := kinesistest.NewServer()
	t.Cleanup(srv.Close)
	if _, err := srv.CreateStream("s", 1); err != nil {
		t.Fatal(err)
	}
	client := newClient(t, srv.URL())
	describe := func(c *kinesis.Client, timeout time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		_, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("s")},
			func(o *kinesis.Options) { o.Retryer = aws.NopRetryer{} })
		return err
	}
	injected := func(f kinesistest.Fault) func() error {
		return func() error {
			srv.InjectRequests(1, f)
			return describe(client, 5*time.Second)
		}
	}

	// A port nothing listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + ln.Addr().String()
	_ = ln.Close()

	// A resolver that cannot reach any name server: lookups fail with *net.DNSError.
	noDNS := func() error {
		cfg := testpeers.Config("http://kinesis.example.invalid:4567")
		cfg.HTTPClient = awshttp.NewBuildableClient().WithDialerOptions(func(d *net.Dialer) {
			d.Resolver = &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
				return nil, errors.New("no name server reachable")
			}}
		})
		return describe(kinesis.NewFromConfig(cfg), 5*time.Second)
	}

	// Credentials: a provider that fails (wrapped as this project's clients wrap
	// theirs), the instance metadata service unreachable, STS failing.
	withCreds := func(p aws.CredentialsProvider) error {
		cfg := testpeers.Config(srv.URL())
		cfg.Credentials = p
		return describe(kinesis.NewFromConfig(cfg), 5*time.Second)
	}
	failing := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{}, errors.New("no role attached yet")
	})
	stsDown := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(stsDown.Close)
	imdsCreds := func() error {
		c := imds.New(imds.Options{Endpoint: closedURL, Retryer: aws.NopRetryer{}})
		return withCreds(aws.NewCredentialsCache(ec2rolecreds.New(func(o *ec2rolecreds.Options) { o.Client = c })))
	}
	stsCreds := func() error {
		cfg := testpeers.Config(stsDown.URL)
		cfg.Retryer = func() aws.Retryer { return aws.NopRetryer{} }
		return withCreds(aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), "arn:aws:iam::123456789012:role/r")))
	}

	cases := []struct {
		name     string
		call     func() error
		class    string
		code     string
		answered bool
	}{
		{"throttling", injected(kinesistest.Throttling()), "throttle", "ThrottlingException", true},
		{"throughput exceeded", injected(kinesistest.ProvisionedThroughputExceeded()), "throttle", "ProvisionedThroughputExceededException", true},
		{"KMS throttling", injected(kinesistest.KMSThrottling()), "throttle", "KMSThrottlingException", true},
		{"limit exceeded", injected(kinesistest.LimitExceeded()), "throttle", "LimitExceededException", true},
		{"internal failure 500", injected(kinesistest.InternalFailure()), "retry", "InternalFailure", true},
		{"service unavailable 503", injected(kinesistest.ServiceUnavailable()), "retry", "ServiceUnavailable", true},
		{"expired token", injected(kinesistest.ErrorFault(400, "ExpiredTokenException", "The security token included in the request is expired")), "retry", "ExpiredTokenException", true},
		{"stream missing", injected(kinesistest.ResourceNotFound()), "permanent", "ResourceNotFoundException", true},
		{"access denied", injected(kinesistest.AccessDenied()), "permanent", "AccessDeniedException", true},
		{"validation", injected(kinesistest.ErrorFault(400, "ValidationException", "1 validation error")), "permanent", "ValidationException", true},
		{"invalid argument", injected(kinesistest.ErrorFault(400, "InvalidArgumentException", "bad")), "permanent", "InvalidArgumentException", true},
		{"KMS key disabled", injected(kinesistest.ErrorFault(400, "KMSDisabledException", "disabled")), "permanent", "KMSDisabledException", true},
		{"KMS key missing", injected(kinesistest.ErrorFault(400, "KMSNotFoundException", "not found")), "permanent", "KMSNotFoundException", true},
		{"connection hung up", injected(kinesistest.DropConnection()), "retry", "connection", false},
		{"no answer", func() error {
			srv.InjectRequests(1, kinesistest.Stall())
			defer srv.Release()
			return describe(client, 200*time.Millisecond)
		}, "retry", "timeout", false},
		{"connection refused", func() error { return describe(newClient(t, closedURL), 5*time.Second) }, "retry", "connection_refused", false},
		{"DNS failure", noDNS, "retry", "dns", false},
		{"credentials provider failing", func() error { return withCreds(kpl.WrapCredentials(failing)) }, "retry", "credentials", false},
		{"instance metadata unreachable", imdsCreds, "retry", "credentials", false},
		{"STS unavailable", stsCreds, "retry", "credentials", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.call()
			if err == nil {
				t.Fatal("the call succeeded")
			}
			class, code, answered := kpl.ClassifyError(err)
			if class != c.class || code != c.code || answered != c.answered {
				t.Errorf("%v\nclassified %s %q answered=%v, want %s %q answered=%v", err, class, code, answered, c.class, c.code, c.answered)
			}
		})
	}
}
