package config

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/otelkinesis/otelkinesis/internal/kpl"
	"github.com/otelkinesis/otelkinesis/internal/putrecords"
	"github.com/otelkinesis/otelkinesis/internal/sdkhttp"
)

// AWS returns the AWS configuration the Kinesis client is built from: the caller's own
// (Config.AWSConfig) or the default chain's, with the region resolved (Region, then the
// SDK's AWS_REGION and shared config, then the stream ARN's region), the role assumed when
// RoleARN is set, and the SDK's own retries off, since the producer owns retries: it sends
// a failed record again alone, after a backoff with jitter, and counts each attempt.
//
// Its HTTP client comes from aws-sdk-go-v2's BuildableClient (a plain *http.Client breaks
// the SDK's AWS_CA_BUNDLE support), sized for Producer.MaxConnections connections, and
// wrapped with the fix of internal/sdkhttp (the caller's own client too).
func (c Config) AWS(ctx context.Context) (aws.Config, error) {
	var cfg aws.Config
	if c.AWSConfig != nil {
		cfg = c.AWSConfig.Copy()
		if c.Region != "" {
			cfg.Region = c.Region
		}
	} else {
		conns := c.Producer.MaxConnections
		httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
			t.MaxConnsPerHost = conns
			t.MaxIdleConnsPerHost = conns
		})
		loaders := []func(*awsconfig.LoadOptions) error{awsconfig.WithHTTPClient(httpClient)}
		if c.Region != "" {
			loaders = append(loaders, awsconfig.WithRegion(c.Region))
		}
		if c.Endpoint != "" {
			// An endpoint override means no account-ID endpoints: with
			// AWS_ACCOUNT_ID_ENDPOINT_MODE=required every call would fail, since account-ID
			// endpoints do not apply to an endpoint given here.
			loaders = append(loaders, awsconfig.WithAccountIDEndpointMode(aws.AccountIDEndpointModeDisabled))
		}
		var err error
		cfg, err = awsconfig.LoadDefaultConfig(ctx, loaders...)
		if err != nil {
			return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
		}
	}
	// After LoadDefaultConfig, which needs the BuildableClient itself for AWS_CA_BUNDLE.
	cfg.HTTPClient = sdkhttp.Wrap(cfg.HTTPClient)
	// Region was validated with the rest; a region the SDK found (AWS_REGION, the shared
	// configuration) or the caller's aws.Config brought is checked here, at construction,
	// rather than failing every request later.
	if c.Region == "" && cfg.Region != "" && !validRegion(cfg.Region) {
		source := "from AWS_REGION or the AWS shared configuration"
		if c.AWSConfig != nil {
			source = "of the aws.Config given to WithAWSConfig"
		}
		return aws.Config{}, fmt.Errorf("region %s %q: not an AWS region name; allowed %s (set another with WithRegion or %sREGION)",
			source, cfg.Region, regionAllowed, EnvPrefix)
	}
	if cfg.Region == "" {
		cfg.Region = regionFromARN(c.Producer.StreamARN)
	}
	if cfg.Region == "" {
		return aws.Config{}, fmt.Errorf("no AWS region: set one with WithRegion, %sREGION or AWS_REGION, "+
			"or give a stream ARN (WithStreamARN, %sSTREAM_ARN)", EnvPrefix, EnvPrefix)
	}
	if c.Endpoint != "" {
		cfg.AccountIDEndpointMode = aws.AccountIDEndpointModeDisabled
	}
	cfg.Retryer = func() aws.Retryer { return aws.NopRetryer{} }
	if c.RoleARN != "" {
		externalID := c.ExternalID
		provider := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), c.RoleARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = "otelkinesis"
			if externalID != "" {
				o.ExternalID = aws.String(externalID)
			}
		})
		cfg.Credentials = aws.NewCredentialsCache(provider)
	}
	// A provider's failures are marked, so that the producer retries a request it could
	// not sign (no instance role yet, STS or SSO failing) instead of dropping its records.
	cfg.Credentials = kpl.WrapCredentials(cfg.Credentials)
	return cfg, nil
}

// KinesisClient builds the Kinesis client for c from [Config.AWS], pointed at Endpoint when
// one is set.
func (c Config) KinesisClient(ctx context.Context) (*kinesis.Client, error) {
	cfg, err := c.AWS(ctx)
	if err != nil {
		return nil, err
	}
	endpoint := c.Endpoint
	return kinesis.NewFromConfig(cfg, func(o *kinesis.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		o.RetryMaxAttempts = 1
		// PutRecords bodies written straight into a pooled buffer and hashed once.
		putrecords.WithPutRecords(o)
	}), nil
}

// regionFromARN returns the region field of an ARN, "" if there is none.
func regionFromARN(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return ""
	}
	return parts[3]
}

// NewProducer starts a producer for c's stream and producer settings, on Client when one is
// set and otherwise on a client built by [Config.KinesisClient].
func (c Config) NewProducer(ctx context.Context) (*kpl.Producer, error) {
	client := c.Client
	if client == nil {
		kc, err := c.KinesisClient(ctx)
		if err != nil {
			return nil, err
		}
		client = kc
	}
	return kpl.New(ctx, client, c.Producer)
}
