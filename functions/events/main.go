// Command events is the storage-triggered function: SCF's COS trigger (cos:ObjectCreated:*)
// or S3 event notifications on Lambda call it for every object created under the upload
// prefix — through directup or any other path. It checks each as the API's complete does
// (size within the policy, content against its declared type, a contradiction deleted)
// and sends the outcome to EVENTS_URL; a failure fails the invocation, so the platform's
// own retries deliver it. It uses the same settings as the API.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/directup/directup/shared/app"
	"github.com/directup/directup/shared/platform/start"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() error {
	a, err := app.ForFunction("events")
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return start.Objects(ctx, func(ctx context.Context, key string) error {
		if err := a.Refresh(ctx); err != nil { // a secret from a store: the invocation is retried
			return err
		}
		return a.Service.ObjectCreated(ctx, key)
	})
}
