package lambda

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
)

// SQSHandler runs every message of an SQS batch through f (which reports whether the
// message must be delivered again) and answers batchItemFailures, so SQS redelivers only
// those (the event source mapping needs FunctionResponseTypes: ReportBatchItemFailures).
func SQSHandler(f func(ctx context.Context, body []byte, id string) (retry bool)) func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
		for _, m := range ev.Records {
			if f(ctx, []byte(m.Body), "sqs:"+m.MessageId) {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			}
		}
		return resp, nil
	}
}
