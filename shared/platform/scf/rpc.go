// Package scf runs a handler on Tencent SCF: the Go1 runtime's net/rpc protocol (what
// github.com/tencentyun/scf-go-lib speaks; that module is not served by the module proxy
// here, so this is a small implementation of its documented wire format), the custom
// runtime's HTTP API, and the HTTP trigger events (API Gateway, Function URL).
package scf

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/rpc"
	"os"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"time"
)

// Handler answers one invocation: the event's bytes in, the answer's bytes out.
type Handler func(ctx context.Context, payload []byte) ([]byte, error)

// The Go1 runtime's messages. gob matches fields by name, so names and types follow
// scf-go-lib's cloudfunction/messages exactly.
type (
	PingRequest  struct{}
	PingResponse struct{}

	InvokeRequest_Timestamp struct {
		Seconds int64
		Nanos   int64
	}
	InvokeRequest struct {
		Payload               []byte
		RequestId             string
		TraceId               string
		Deadline              InvokeRequest_Timestamp
		InvokedFunctionUnique string
		ClientContext         []byte
		Namespace             string
		FunctionName          string
		FunctionVersion       string
		MemoryLimitInMb       int32
		TimeLimitInMs         int32
		Environment           string
		TencentcloudRegion    string
		TencentcloudAppID     string
		TencentcloudUin       string
		FunctionTrace         string
	}
	InvokeResponse struct {
		Payload []byte
		Error   *InvokeResponse_Error
	}
	InvokeResponse_Error struct {
		Message    string
		Type       string
		StackTrace []*InvokeResponse_Error_StackFrame
		ShouldExit bool
	}
	InvokeResponse_Error_StackFrame struct {
		Path  string `json:"path"`
		Line  int32  `json:"line"`
		Label string `json:"label"`
	}
)

// Invocation describes the current invoke; handlers read it from the context.
type Invocation struct {
	RequestID    string
	FunctionName string
	Namespace    string
	MemoryMB     int32
}

type invocationKey struct{}

// FromContext returns the invocation a handler runs in.
func FromContext(ctx context.Context) (Invocation, bool) {
	inv, ok := ctx.Value(invocationKey{}).(Invocation)
	return inv, ok
}

// Function is the RPC service; its name is what the runtime calls ("Function.Invoke").
type Function struct {
	handler Handler
	// inflight is held for reading by every invoke; shutting down takes it for writing,
	// so it waits for the invokes in flight and lets no new one start.
	inflight sync.RWMutex
}

// Ping answers the runtime's health check.
func (f *Function) Ping(_ *PingRequest, resp *PingResponse) error {
	*resp = PingResponse{}
	return nil
}

// Invoke runs the handler. Environment is applied first: it is how a warm instance
// receives fresh role credentials. A panic becomes an error answer with ShouldExit, so
// the runtime replaces the instance.
func (f *Function) Invoke(req *InvokeRequest, resp *InvokeResponse) (err error) {
	f.inflight.RLock()
	defer f.inflight.RUnlock()
	defer func() {
		if p := recover(); p != nil {
			*resp = InvokeResponse{Error: &InvokeResponse_Error{
				Message: fmt.Sprint(p), Type: typeName(p), StackTrace: stack(), ShouldExit: true,
			}}
			err = nil
		}
	}()
	if req.Environment != "" {
		var env map[string]string
		if err := json.Unmarshal([]byte(req.Environment), &env); err != nil {
			resp.Error = errorResponse(fmt.Errorf("scf: Environment is not a JSON object: %w", err))
			return nil
		}
		for k, v := range env {
			os.Setenv(k, v)
		}
	}
	ctx := context.Background()
	if req.Deadline.Seconds > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, time.Unix(req.Deadline.Seconds, req.Deadline.Nanos))
		defer cancel()
	}
	ctx = context.WithValue(ctx, invocationKey{}, Invocation{
		RequestID: req.RequestId, FunctionName: req.FunctionName, Namespace: req.Namespace, MemoryMB: req.MemoryLimitInMb,
	})
	payload, herr := f.handler(ctx, req.Payload)
	if herr != nil {
		resp.Error = errorResponse(herr)
		return nil
	}
	resp.Payload = payload
	return nil
}

func errorResponse(err error) *InvokeResponse_Error {
	return &InvokeResponse_Error{Message: err.Error(), Type: typeName(err)}
}

func typeName(v any) string {
	t := reflect.TypeOf(v)
	if t == nil {
		return ""
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

func stack() []*InvokeResponse_Error_StackFrame {
	pcs := make([]uintptr, 32)
	n := runtime.Callers(4, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	var out []*InvokeResponse_Error_StackFrame
	for {
		fr, more := frames.Next()
		if !strings.HasPrefix(fr.Function, "runtime.") {
			out = append(out, &InvokeResponse_Error_StackFrame{Path: fr.File, Line: int32(fr.Line), Label: fr.Function})
		}
		if !more {
			return out
		}
	}
}

// ServeRPC serves the Go1 runtime protocol on ln until ctx ends (SIGTERM: the platform
// is stopping the instance) or ln fails. On ctx's end it stops accepting, lets the
// invokes in flight finish and answer, and returns nil.
func ServeRPC(ctx context.Context, ln net.Listener, h Handler) error {
	srv := rpc.NewServer()
	fn := &Function{handler: h}
	if err := srv.RegisterName("Function", fn); err != nil {
		return err
	}
	stopped := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			ln.Close()
		case <-stopped:
		}
	}()
	defer close(stopped)
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				fn.inflight.Lock() // every invoke in flight has answered
				return nil
			}
			return err
		}
		go srv.ServeConn(conn)
	}
}

// ListenGo1 listens where the Go1 runtime expects: 0.0.0.0:$_LAMBDA_SERVER_PORT.
func ListenGo1() (net.Listener, error) {
	port := os.Getenv("_LAMBDA_SERVER_PORT")
	if port == "" {
		return nil, fmt.Errorf("scf: _LAMBDA_SERVER_PORT is not set")
	}
	return net.Listen("tcp", "0.0.0.0:"+port)
}
