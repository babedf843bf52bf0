// Command queue prepares uploads from queue messages: SCF's CMQ and CKafka triggers (Go1
// or custom runtime) and AWS SQS (provided.al2023, built with -tags lambda.norpc). It uses
// the same settings, service and policy as the API; see shared/queue for the protocol.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	awslambda "github.com/aws/aws-lambda-go/lambda"

	"github.com/directup/directup/shared/config"
	"github.com/directup/directup/shared/platform"
	lambdahttp "github.com/directup/directup/shared/platform/lambda"
	"github.com/directup/directup/shared/platform/scf"
	"github.com/directup/directup/shared/queue"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	if cfg.Local() {
		return errors.New("config: COS_BUCKET (or S3_BUCKET): required by the queue function")
	}
	app, err := cfg.Build()
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	proc := queue.New(app.Service, app.Store, cfg.KeyPrefix, []byte(cfg.TokenSecret),
		&queue.Callbacks{Secret: []byte(cfg.QueueCallbackSecret), AllowedHosts: cfg.QueueCallbackHosts}, logger)
	handle := func(ctx context.Context, body []byte, id string) bool {
		_, outcome := proc.Handle(ctx, body, id)
		return outcome == queue.Retry
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch platform.Detect() {
	case platform.Lambda:
		awslambda.StartWithOptions(lambdahttp.SQSHandler(handle), awslambda.WithContext(ctx))
		return nil
	case platform.SCFGo1:
		ln, err := scf.ListenGo1()
		if err != nil {
			return err
		}
		return scf.ServeRPC(ctx, ln, scf.QueueHandler(handle))
	case platform.SCFCustom:
		return scf.RunCustom(ctx, platform.CustomRuntimeAPI(), scf.QueueHandler(handle))
	}
	return errors.New("the queue function runs under SCF (Go1 or custom runtime) or AWS Lambda")
}
