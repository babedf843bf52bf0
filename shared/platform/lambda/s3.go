package lambda

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// ErrNotS3 means the function was invoked with something other than S3 event notifications.
var ErrNotS3 = errors.New("lambda: the events function takes S3 event notifications only")

// S3Handler runs every created object of an S3 event notification through f (keys
// URL-decoded). Any failure fails the invocation, so Lambda's asynchronous retries (and
// then the on-failure destination) take the event; f is idempotent. Other S3 events are
// acknowledged untouched.
func S3Handler(f func(ctx context.Context, key string) error) func(context.Context, events.S3Event) error {
	return func(ctx context.Context, ev events.S3Event) error {
		if len(ev.Records) == 0 {
			return ErrNotS3
		}
		var failed []string
		for _, r := range ev.Records {
			if r.EventSource != "aws:s3" {
				return ErrNotS3
			}
			if !strings.HasPrefix(r.EventName, "ObjectCreated:") {
				continue
			}
			if err := f(ctx, r.S3.Object.URLDecodedKey); err != nil {
				failed = append(failed, r.S3.Object.URLDecodedKey+": "+err.Error())
			}
		}
		if len(failed) > 0 {
			return fmt.Errorf("lambda: %d objects must be retried: %s", len(failed), strings.Join(failed, "; "))
		}
		return nil
	}
}
