// Command queue prepares uploads from queue messages: SCF's CMQ and CKafka triggers (Go1
// or custom runtime) and AWS SQS (provided.al2023, built with -tags lambda.norpc). It uses
// the same settings, service and policy as the API; see shared/queue for the protocol.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/directup/directup/shared/app"
	"github.com/directup/directup/shared/platform/start"
	"github.com/directup/directup/shared/queue"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() error {
	a, err := app.ForFunction("queue")
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	proc := a.QueueProcessor(logger)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return start.Queue(ctx, func(ctx context.Context, body []byte, id string) bool {
		if err := a.Refresh(ctx); err != nil { // a secret from a store: the message waits for it
			logger.Error("secret unavailable", "err", err.Error(), "messageId", id)
			return true
		}
		_, outcome := proc.Handle(ctx, body, id)
		return outcome == queue.Retry
	})
}
