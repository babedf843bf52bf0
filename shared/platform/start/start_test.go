package start

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
)

var runtimeVars = []string{"AWS_LAMBDA_RUNTIME_API", "_LAMBDA_SERVER_PORT", "SCF_RUNTIME_API"}

// Detect tries the platforms in order: Lambda first (on AWS only its variable is set),
// then SCF's Go1 runtime, then SCF's custom runtime; none is a plain server.
func TestDetect(t *testing.T) {
	for _, tt := range []struct {
		set  []string
		want string
	}{
		{nil, PlainHTTP},
		{[]string{"AWS_LAMBDA_RUNTIME_API"}, "lambda"},
		{[]string{"_LAMBDA_SERVER_PORT"}, "scf-go1"},
		{[]string{"SCF_RUNTIME_API"}, "scf-custom"},
		{[]string{"AWS_LAMBDA_RUNTIME_API", "_LAMBDA_SERVER_PORT", "SCF_RUNTIME_API"}, "lambda"},
		{[]string{"_LAMBDA_SERVER_PORT", "SCF_RUNTIME_API"}, "scf-go1"},
	} {
		t.Run(strings.Join(tt.set, "+"), func(t *testing.T) {
			for _, k := range runtimeVars {
				t.Setenv(k, "")
			}
			for _, k := range tt.set {
				t.Setenv(k, "127.0.0.1:9001")
			}
			if got := Detect(); got != tt.want {
				t.Fatalf("Detect() = %q, want %q", got, tt.want)
			}
		})
	}
}

// Every entry has a name, a detector and every door directup's functions use today.
func TestEntries(t *testing.T) {
	seen := map[string]bool{PlainHTTP: true}
	for _, p := range platforms {
		if p.name == "" || seen[p.name] || p.detect == nil {
			t.Errorf("entry %q: a name of its own and a detector are required", p.name)
		}
		seen[p.name] = true
		if p.http == nil || p.queue == nil || p.objects == nil {
			t.Errorf("%s lost a door", p.name)
		}
	}
}

// A platform lacking a door is an error naming it, not a plain server or a panic.
func TestMissingDoor(t *testing.T) {
	saved := platforms
	t.Cleanup(func() { platforms = saved })
	platforms = []entry{{name: "doorless", detect: func() bool { return true }}}
	for kind, run := range map[string]func() error{
		"HTTP":   func() error { return HTTP(context.Background(), http.NotFoundHandler(), Plain{Addr: "127.0.0.1:0"}) },
		"queue":  func() error { return Queue(context.Background(), nil) },
		"object": func() error { return Objects(context.Background(), nil) },
	} {
		err := run()
		if !errors.Is(err, ErrNoDoor) || !strings.Contains(err.Error(), "doorless") || !strings.Contains(err.Error(), kind) {
			t.Errorf("%s: %v", kind, err)
		}
	}
	platforms = nil
	if err := Queue(context.Background(), nil); !errors.Is(err, ErrNoPlatform) {
		t.Errorf("no platform: %v", err)
	}
	if err := Objects(context.Background(), nil); !errors.Is(err, ErrNoPlatform) {
		t.Errorf("no platform: %v", err)
	}
}
