package propagation

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/smithy-go/middleware"
	"go.opentelemetry.io/otel"
)

// MiddlewareID is the ID of the Producer's middleware in the Initialize step
// of a client's stack.
const MiddlewareID = "otelkinesis.propagation"

// Middleware returns an aws-sdk-go-v2 API option that makes a Kinesis client
// start the producer spans of every PutRecord and PutRecords call and put their
// context on the records, with no change to the code making the calls:
//
//	client := kinesis.NewFromConfig(cfg, func(o *kinesis.Options) {
//		o.APIOptions = append(o.APIOptions, producer.Middleware())
//	})
//
// The caller's input is never modified: the middleware works on a copy, so a
// caller that retries with the same input does not wrap its records twice.
// Other operations pass through untouched. The spans cover the SDK's own
// retries. A record that cannot carry context is sent without it (a
// look-alike of a format still wrapped with an empty context, as Inject
// does), the reason recorded on its span and passed to otel.Handle; with
// WithStrict the call fails instead, before anything is sent.
//
// Do not add it to the client of an otelkinesis exporter: the exporter's own
// PutRecords calls would then make spans, which it would export, and so on.
func (p *Producer) Middleware() func(*middleware.Stack) error {
	return func(s *middleware.Stack) error {
		return s.Initialize.Add(middleware.InitializeMiddlewareFunc(MiddlewareID, p.handleInitialize), middleware.Before)
	}
}

func (p *Producer) handleInitialize(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	switch params := in.Parameters.(type) {
	case *kinesis.PutRecordInput:
		if params == nil {
			break
		}
		cp := *params
		ctx, span, err := p.StartPutRecord(ctx, &cp)
		if err != nil {
			if p.strict {
				err = fmt.Errorf("otelkinesis propagation: %w", err)
				p.EndPutRecord(span, nil, err)
				return middleware.InitializeOutput{}, middleware.Metadata{}, err
			}
			otel.Handle(fmt.Errorf("otelkinesis propagation: PutRecord: %w", err))
		}
		in.Parameters = &cp
		out, md, err := next.HandleInitialize(ctx, in)
		res, _ := out.Result.(*kinesis.PutRecordOutput)
		p.EndPutRecord(span, res, err)
		return out, md, err
	case *kinesis.PutRecordsInput:
		if params == nil {
			break
		}
		cp := *params
		cp.Records = append(cp.Records[:0:0], params.Records...)
		ctx, spans, err := p.StartPutRecords(ctx, &cp)
		if err != nil {
			if p.strict {
				err = fmt.Errorf("otelkinesis propagation: %w", err)
				spans.End(nil, err)
				return middleware.InitializeOutput{}, middleware.Metadata{}, err
			}
			otel.Handle(fmt.Errorf("otelkinesis propagation: PutRecords: %w", err))
		}
		in.Parameters = &cp
		out, md, err := next.HandleInitialize(ctx, in)
		res, _ := out.Result.(*kinesis.PutRecordsOutput)
		spans.End(res, err)
		return out, md, err
	}
	return next.HandleInitialize(ctx, in)
}
