package scf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"
)

// ErrPanicked is what RunCustom returns after a handler panicked: the panic was reported
// as the invocation's error, and the process should exit (its state can no longer be
// trusted); the platform starts a fresh one.
var ErrPanicked = errors.New("scf: a handler panicked")

// CustomRuntimeAPI is the base URL of the custom runtime API, from the variables SCF sets.
func CustomRuntimeAPI() string {
	return "http://" + os.Getenv("SCF_RUNTIME_API") + ":" + os.Getenv("SCF_RUNTIME_API_PORT")
}

// RunCustom drives the custom runtime API at base (http://$SCF_RUNTIME_API:$SCF_RUNTIME_API_PORT):
// announce readiness, then fetch, run and answer invocations one at a time. It returns nil
// when ctx ends (SIGTERM) between invocations, ErrPanicked after a panic was reported, or
// the runtime API's failure.
func RunCustom(ctx context.Context, base string, h Handler) error {
	err := runCustom(ctx, base, h)
	if ctx.Err() != nil && !errors.Is(err, ErrPanicked) {
		return nil // stopped by the platform
	}
	return err
}

func runCustom(ctx context.Context, base string, h Handler) error {
	client := &http.Client{}
	post := func(path string, body []byte) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader(body))
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			return fmt.Errorf("scf: %s answered %d", path, resp.StatusCode)
		}
		return nil
	}
	if err := post("/runtime/init/ready", nil); err != nil {
		return err
	}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/runtime/invocation/next", nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		event, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("scf: /runtime/invocation/next answered %d", resp.StatusCode)
		}
		out, herr, panicked := invokeCustom(ctx, resp.Header, event, h)
		if herr != nil {
			if err := post("/runtime/invocation/error", []byte(herr.Error())); err != nil {
				return err
			}
			if panicked {
				return fmt.Errorf("%w: %v", ErrPanicked, herr)
			}
			continue
		}
		if err := post("/runtime/invocation/response", out); err != nil {
			return err
		}
	}
}

func invokeCustom(ctx context.Context, header http.Header, event []byte, h Handler) (out []byte, err error, panicked bool) {
	defer func() {
		if p := recover(); p != nil {
			out, err, panicked = nil, fmt.Errorf("panic: %v", p), true
		}
	}()
	inv := Invocation{RequestID: header.Get("request_id")}
	if mb, err := strconv.Atoi(header.Get("memory_limit_in_mb")); err == nil {
		inv.MemoryMB = int32(mb)
	}
	ctx = context.WithValue(ctx, invocationKey{}, inv)
	if ms, err := strconv.Atoi(header.Get("time_limit_in_ms")); err == nil && ms > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(ms)*time.Millisecond)
		defer cancel()
	}
	out, err = h(ctx, event)
	return out, err, false
}
