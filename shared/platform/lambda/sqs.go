package lambda

import (
	"context"
	"errors"

	"github.com/aws/aws-lambda-go/events"
)

// ErrNotSQS means the queue function was invoked with something other than an SQS batch
// (an API Gateway event, a test event): it fails the invocation rather than acknowledge
// an event it did nothing with.
var ErrNotSQS = errors.New("lambda: the queue function takes SQS events only")

// SQSHandler runs every message of an SQS batch through f (which reports whether the
// message must be delivered again) and answers batchItemFailures, so SQS redelivers only
// those (the event source mapping needs FunctionResponseTypes: ReportBatchItemFailures).
func SQSHandler(f func(ctx context.Context, body []byte, id string) (retry bool)) func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		if len(ev.Records) == 0 {
			return events.SQSEventResponse{}, ErrNotSQS // SQS never sends an empty batch
		}
		for _, m := range ev.Records {
			if m.EventSource != "aws:sqs" || m.MessageId == "" {
				return events.SQSEventResponse{}, ErrNotSQS
			}
		}
		resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
		for _, m := range ev.Records {
			if f(ctx, []byte(m.Body), "sqs:"+m.MessageId) {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			}
		}
		return resp, nil
	}
}
