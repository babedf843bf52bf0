// Package apptest serves the whole application in local mode for the tests of its clients
// (the Go client, scripts/upload): the same wiring as functions/api, on loopback.
package apptest

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/directup/directup/shared/app"
	"github.com/directup/directup/shared/config"
	"github.com/directup/directup/shared/functest"
	_ "github.com/directup/directup/shared/localmode" // the store local mode runs on
)

// JWTMode are the settings of a local API that authenticates callers with functest.JWT.
var JWTMode = map[string]string{"AUTH_MODE": "jwt", "AUTH_JWT_SECRET": functest.JWTSecret,
	"AUTH_AUDIENCE": "directup", "AUTH_ISSUER": "https://idp.example"}

// Local serves local mode with the given settings (none inherited from the environment)
// until the test ends, and returns its URL.
func Local(t testing.TB, env map[string]string) string {
	functest.ClearEnv(t)
	t.Setenv("LOCAL_COS_DIR", t.TempDir())
	for k, v := range env {
		t.Setenv(k, v)
	}
	c, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	srv := httptest.NewServer(a.Handler(slog.New(slog.NewTextHandler(io.Discard, nil))))
	t.Cleanup(srv.Close)
	return srv.URL
}
