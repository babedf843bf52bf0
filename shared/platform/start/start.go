// Package start runs directup's functions on whatever runtime started the process, as
// aws-lambda-go's Start does. Each platform is one entry in the table below: its name, how
// the environment shows it started the process, and its doors — how it serves an HTTP
// handler, a queue handler and an object handler. The first entry whose detect is true
// wins; with none, HTTP runs a plain server. The functions' mains hand their handler here
// and stay a few lines.
//
// A new platform is its adapter package (under shared/platform) plus one entry in
// platforms; nothing else names it.
package start

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	awslambda "github.com/aws/aws-lambda-go/lambda"

	"github.com/directup/directup/shared/httpapi"
	lambdahttp "github.com/directup/directup/shared/platform/lambda"
	"github.com/directup/directup/shared/platform/scf"
)

// MessageFunc handles one queue message (id: the platform's message id); true asks the
// platform to deliver it again.
type MessageFunc func(ctx context.Context, body []byte, id string) (retry bool)

// ObjectFunc handles one object storage reports created; an error asks for it again.
type ObjectFunc func(ctx context.Context, key string) error

// entry is one platform. Each door returns when the platform stops the process (SIGTERM
// ends ctx) or its runtime API fails; a nil door is a kind of function the platform does
// not serve (start then returns ErrNoDoor).
type entry struct {
	name    string      // what Detect answers
	detect  func() bool // whether this platform started the process
	http    func(ctx context.Context, h http.Handler) error
	queue   func(ctx context.Context, f MessageFunc) error
	objects func(ctx context.Context, f ObjectFunc) error
}

// platforms, in the order they are tried. Lambda comes first: on AWS only its variable is
// set.
var platforms = []entry{
	{
		name:   "lambda", // provided.al2023 custom runtime
		detect: func() bool { return os.Getenv("AWS_LAMBDA_RUNTIME_API") != "" },
		http: func(ctx context.Context, h http.Handler) error {
			awslambda.StartWithOptions(lambdahttp.Handler(h), awslambda.WithContext(ctx))
			return nil
		},
		queue: func(ctx context.Context, f MessageFunc) error {
			awslambda.StartWithOptions(lambdahttp.SQSHandler(f), awslambda.WithContext(ctx))
			return nil
		},
		objects: func(ctx context.Context, f ObjectFunc) error {
			awslambda.StartWithOptions(lambdahttp.S3Handler(f), awslambda.WithContext(ctx))
			return nil
		},
	},
	{
		name:   "scf-go1", // SCF's Go1 net/rpc runtime
		detect: func() bool { return os.Getenv("_LAMBDA_SERVER_PORT") != "" },
		http:   func(ctx context.Context, h http.Handler) error { return go1(ctx, scf.HTTPHandler(h)) },
		queue: func(ctx context.Context, f MessageFunc) error {
			return go1(ctx, scf.QueueHandler(scf.MessageFunc(f)))
		},
		objects: func(ctx context.Context, f ObjectFunc) error { return go1(ctx, scf.ObjectHandler(scf.ObjectFunc(f))) },
	},
	{
		name:   "scf-custom", // SCF's custom runtime
		detect: func() bool { return os.Getenv("SCF_RUNTIME_API") != "" },
		http: func(ctx context.Context, h http.Handler) error {
			return scf.RunCustom(ctx, scf.CustomRuntimeAPI(), scf.HTTPHandler(h))
		},
		queue: func(ctx context.Context, f MessageFunc) error {
			return scf.RunCustom(ctx, scf.CustomRuntimeAPI(), scf.QueueHandler(scf.MessageFunc(f)))
		},
		objects: func(ctx context.Context, f ObjectFunc) error {
			return scf.RunCustom(ctx, scf.CustomRuntimeAPI(), scf.ObjectHandler(scf.ObjectFunc(f)))
		},
	},
}

// PlainHTTP is what Detect answers when no platform started the process.
const PlainHTTP = "http"

// Detect names the platform that started the process ("lambda", "scf-go1",
// "scf-custom"), or PlainHTTP (local mode, an SCF web function, a container).
func Detect() string {
	if p := detect(); p != nil {
		return p.name
	}
	return PlainHTTP
}

func detect() *entry {
	for i := range platforms {
		if platforms[i].detect() {
			return &platforms[i]
		}
	}
	return nil
}

func go1(ctx context.Context, h scf.Handler) error {
	ln, err := scf.ListenGo1()
	if err != nil {
		return err
	}
	return scf.ServeRPC(ctx, ln, h)
}

// Plain is the plain HTTP server HTTP runs when no platform started the process (local
// mode, an SCF web function, a container).
type Plain struct {
	Addr           string
	RequestTimeout time.Duration
	// OnListen, if set, is told the address once the server listens.
	OnListen func(addr net.Addr)
}

// HTTP serves h on the platform that started the process, else as a plain HTTP server
// until ctx ends (then it drains for up to 5 s).
func HTTP(ctx context.Context, h http.Handler, plain Plain) error {
	if p := detect(); p != nil {
		if p.http == nil {
			return p.noDoor("HTTP")
		}
		return p.http(ctx, h)
	}
	srv := httpapi.NewServer(h, plain.RequestTimeout)
	ln, err := net.Listen("tcp", plain.Addr)
	if err != nil {
		return err
	}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	if plain.OnListen != nil {
		plain.OnListen(ln.Addr())
	}
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// ErrNoPlatform means a queue or events function was started outside SCF and Lambda.
var ErrNoPlatform = errors.New("this function runs under SCF (Go1 or custom runtime) or AWS Lambda")

// ErrNoDoor means the platform that started the process does not serve the kind of
// function asked for: its entry has no such door. The error returned wraps it and names
// the platform and the kind.
var ErrNoDoor = errors.New("no door in its entry")

func (p *entry) noDoor(kind string) error {
	return fmt.Errorf("start: %s does not serve %s functions: %w", p.name, kind, ErrNoDoor)
}

// Queue serves f on the platform that started the process.
func Queue(ctx context.Context, f MessageFunc) error {
	p := detect()
	switch {
	case p == nil:
		return ErrNoPlatform
	case p.queue == nil:
		return p.noDoor("queue")
	}
	return p.queue(ctx, f)
}

// Objects serves f, for objects storage reports created, on the platform that started the
// process (SCF's COS trigger, S3 event notifications on Lambda).
func Objects(ctx context.Context, f ObjectFunc) error {
	p := detect()
	switch {
	case p == nil:
		return ErrNoPlatform
	case p.objects == nil:
		return p.noDoor("object")
	}
	return p.objects(ctx, f)
}
