// Command api serves directup's upload API. The same binary runs as a Tencent SCF
// function (Go1 runtime, custom runtime or web function), as an AWS Lambda function
// (provided.al2023, built with -tags lambda.norpc), or as a plain HTTP server. With no
// COS_BUCKET outside a platform it runs in local mode: the API plus an embedded
// COS-compatible store, no cloud account needed.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/directup/directup/shared/app"
	"github.com/directup/directup/shared/config"
	"github.com/directup/directup/shared/platform/start"
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
	if cfg.Local() && (start.Detect() != start.PlainHTTP || os.Getenv("TENCENTCLOUD_RUNENV") == "SCF") {
		return fmt.Errorf("config: %s: required when running as a function", config.StoreRequired())
	}
	a, err := app.New(cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return start.HTTP(ctx, a.Handler(logger), start.Plain{Addr: cfg.Addr(), RequestTimeout: cfg.RequestTimeout,
		OnListen: func(addr net.Addr) {
			local := a.Embedded()
			if local == nil {
				logger.Info("listening", "addr", addr.String(), "bucket", a.Store.Bucket())
				return
			}
			fmt.Fprintf(os.Stderr, "directup local mode\n  API:         http://%s\n  local COS:   %s (bucket %s)\n  demo page:   http://%s/\n  try:         go run ./scripts/upload -api http://%s FILE\n",
				addr, local.EmbeddedEndpoint(), a.Store.Bucket(), addr, addr)
		}})
}
