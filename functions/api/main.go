// Command api serves directup's upload API. The same binary runs as a Tencent SCF
// function (Go1 runtime, custom runtime or web function), as an AWS Lambda function
// (provided.al2023, built with -tags lambda.norpc), or as a plain HTTP server. With no
// COS_BUCKET outside a platform it runs in local mode: the API plus an embedded
// COS-compatible store, no cloud account needed.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	awslambda "github.com/aws/aws-lambda-go/lambda"

	"github.com/directup/directup/shared/config"
	"github.com/directup/directup/shared/httpapi"
	"github.com/directup/directup/shared/platform"
	lambdahttp "github.com/directup/directup/shared/platform/lambda"
	"github.com/directup/directup/shared/platform/scf"
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
	where := platform.Detect()
	if cfg.Local() && (where != platform.HTTP || os.Getenv("TENCENTCLOUD_RUNENV") == "SCF") {
		return errors.New("config: COS_BUCKET (or S3_BUCKET): required when running as a function")
	}
	app, err := cfg.Build()
	if err != nil {
		return err
	}
	defer app.Close()
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	api := app.Handler(cfg, logger)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch where {
	case platform.Lambda:
		awslambda.StartWithOptions(lambdahttp.Handler(api), awslambda.WithContext(ctx))
		return nil
	case platform.SCFGo1:
		ln, err := scf.ListenGo1()
		if err != nil {
			return err
		}
		return scf.ServeRPC(ctx, ln, scf.HTTPHandler(api))
	case platform.SCFCustom:
		return scf.RunCustom(ctx, platform.CustomRuntimeAPI(), scf.HTTPHandler(api))
	}

	srv := httpapi.NewServer(api, cfg.RequestTimeout)
	ln, err := net.Listen("tcp", cfg.Addr())
	if err != nil {
		return err
	}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	if app.Local != nil {
		fmt.Fprintf(os.Stderr, "directup local mode\n  API:         http://%s\n  local COS:   %s (bucket %s)\n  demo page:   http://%s/\n  try:         go run ./scripts/upload -api http://%s FILE\n",
			ln.Addr(), app.LocalURL, config.LocalBucket, ln.Addr(), ln.Addr())
	} else {
		logger.Info("listening", "addr", ln.Addr().String(), "bucket", app.Store.Bucket())
	}
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
