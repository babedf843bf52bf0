// Command api serves directup's upload API. With no COS_BUCKET it runs in local mode:
// the API plus an embedded COS-compatible store, no cloud account needed.
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

	"github.com/directup/directup/shared/config"
	"github.com/directup/directup/shared/httpapi"
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
	app, err := cfg.Build()
	if err != nil {
		return err
	}
	defer app.Close()
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	api := httpapi.New(app.Service, httpapi.Options{CORSOrigins: cfg.CORSOrigins, Logger: logger})
	srv := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", cfg.Addr())
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	if app.Local != nil {
		fmt.Fprintf(os.Stderr, "directup local mode\n  API:         http://%s\n  local COS:   %s (bucket %s)\n  try:         go run ./scripts/upload -api http://%s FILE\n",
			ln.Addr(), app.LocalURL, config.LocalBucket, ln.Addr())
	} else {
		logger.Info("listening", "addr", ln.Addr().String(), "bucket", app.Store.Bucket(), "endpoint", app.Store.Endpoint())
	}
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
