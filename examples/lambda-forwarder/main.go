// Command lambda-forwarder is an AWS Lambda function that forwards the OpenTelemetry
// telemetry on a Kinesis stream, written by otelkinesis or by the Collector's Kinesis
// exporter, to an OTLP/HTTP endpoint. It is package lambdaforward's handler, configured
// by the environment:
//
//	OTEL_EXPORTER_OTLP_ENDPOINT     base URL of the receiver, such as https://otlp.example.com:4318 (required)
//	OTEL_EXPORTER_OTLP_HEADERS      headers, key=value,key2=value2 (values URL-encoded)
//	OTEL_EXPORTER_OTLP_COMPRESSION  gzip or none
//	OTEL_EXPORTER_OTLP_TIMEOUT      per request, in milliseconds (default 10000)
//	OTELKINESIS_FORMAT              for records without otelkinesis tags: SIGNAL/ENCODING/COMPRESSION,
//	                                such as traces/otlp_proto/gzip (the Collector exporter's settings)
//	OTELKINESIS_SKIP_UNDECODABLE    true to log and drop records that cannot be read instead of
//	                                reporting them as failures
//
// Build and deploy (the provided.al2023 runtime runs a binary named bootstrap):
//
//	GOOS=linux GOARCH=arm64 go build -tags lambda.norpc -o bootstrap ./examples/lambda-forwarder
//	zip forwarder.zip bootstrap
//	aws lambda create-function --function-name otel-forwarder --runtime provided.al2023 \
//	    --architectures arm64 --handler bootstrap --zip-file fileb://forwarder.zip \
//	    --role arn:aws:iam::ACCOUNT:role/ROLE \
//	    --environment 'Variables={OTEL_EXPORTER_OTLP_ENDPOINT=https://otlp.example.com:4318}'
//	aws lambda create-event-source-mapping --function-name otel-forwarder \
//	    --event-source-arn arn:aws:kinesis:REGION:ACCOUNT:stream/STREAM --starting-position LATEST \
//	    --function-response-types ReportBatchItemFailures \
//	    --maximum-retry-attempts 10 --destination-config 'OnFailure={Destination=arn:aws:sqs:...}'
//
// ReportBatchItemFailures is what makes Lambda retry only from the first record that was
// not delivered; without it the function's answer is ignored and nothing is retried.
package main

import (
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/otelkinesis/otelkinesis/consumer"
	"github.com/otelkinesis/otelkinesis/lambdaforward"
)

func main() {
	opts, err := options(os.Getenv)
	if err != nil {
		log.Fatal(err)
	}
	f, err := lambdaforward.New(opts...)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	lambda.Start(f.Handle)
}

// options reads the settings of this example that are not OTLP exporter variables.
func options(getenv func(string) string) ([]lambdaforward.Option, error) {
	var opts []lambdaforward.Option
	if v := getenv("OTELKINESIS_FORMAT"); v != "" {
		parts := strings.Split(v, "/")
		if len(parts) != 3 {
			return nil, fmt.Errorf("OTELKINESIS_FORMAT %q: want SIGNAL/ENCODING/COMPRESSION, such as traces/otlp_proto/gzip", v)
		}
		f := consumer.Format{Signal: consumer.Signal(parts[0]), ContentEncoding: parts[2]}
		switch parts[1] {
		case "otlp_proto", "otlp":
			f.ContentType = consumer.ContentTypeProtobuf
		case "otlp_json":
			f.ContentType = consumer.ContentTypeJSON
		default:
			return nil, fmt.Errorf("OTELKINESIS_FORMAT %q: encoding %q: want otlp_proto or otlp_json", v, parts[1])
		}
		if f.ContentEncoding == "none" || f.ContentEncoding == "noop" {
			f.ContentEncoding = ""
		}
		opts = append(opts, lambdaforward.WithFormat(f))
	}
	switch v := getenv("OTELKINESIS_SKIP_UNDECODABLE"); v {
	case "", "false":
	case "true":
		opts = append(opts, lambdaforward.WithSkipUndecodable(true))
	default:
		return nil, fmt.Errorf("OTELKINESIS_SKIP_UNDECODABLE %q: want true or false", v)
	}
	return opts, nil
}
