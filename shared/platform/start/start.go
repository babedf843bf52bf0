// Package start runs directup's functions on whatever runtime started the process, as
// aws-lambda-go's Start does: each platform is one entry in a table — how it serves an
// HTTP handler and how it serves a queue handler — chosen by what the environment shows
// (platform.Detect). The functions' mains hand their handler here and stay a few lines;
// a new platform is its adapter package plus one entry below.
package start

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	awslambda "github.com/aws/aws-lambda-go/lambda"

	"github.com/directup/directup/shared/httpapi"
	"github.com/directup/directup/shared/platform"
	lambdahttp "github.com/directup/directup/shared/platform/lambda"
	"github.com/directup/directup/shared/platform/scf"
)

// MessageFunc handles one queue message (id: the platform's message id); true asks the
// platform to deliver it again.
type MessageFunc func(ctx context.Context, body []byte, id string) (retry bool)

// door is how one platform serves.
type door struct {
	http    func(ctx context.Context, h http.Handler) error
	queue   func(ctx context.Context, f MessageFunc) error
	objects func(ctx context.Context, f ObjectFunc) error
}

// ObjectFunc handles one object storage reports created; an error asks for it again.
type ObjectFunc func(ctx context.Context, key string) error

// doors are the platforms, by platform.Detect's names. Each returns when the platform
// stops the process (SIGTERM ends ctx) or its runtime API fails.
var doors = map[string]door{
	platform.Lambda: {
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
	platform.SCFGo1: {
		http: func(ctx context.Context, h http.Handler) error { return go1(ctx, scf.HTTPHandler(h)) },
		queue: func(ctx context.Context, f MessageFunc) error {
			return go1(ctx, scf.QueueHandler(scf.MessageFunc(f)))
		},
		objects: func(ctx context.Context, f ObjectFunc) error { return go1(ctx, scf.ObjectHandler(scf.ObjectFunc(f))) },
	},
	platform.SCFCustom: {
		http: func(ctx context.Context, h http.Handler) error {
			return scf.RunCustom(ctx, platform.CustomRuntimeAPI(), scf.HTTPHandler(h))
		},
		queue: func(ctx context.Context, f MessageFunc) error {
			return scf.RunCustom(ctx, platform.CustomRuntimeAPI(), scf.QueueHandler(scf.MessageFunc(f)))
		},
		objects: func(ctx context.Context, f ObjectFunc) error {
			return scf.RunCustom(ctx, platform.CustomRuntimeAPI(), scf.ObjectHandler(scf.ObjectFunc(f)))
		},
	},
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
	if d, ok := doors[platform.Detect()]; ok {
		return d.http(ctx, h)
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

// Queue serves f on the platform that started the process.
func Queue(ctx context.Context, f MessageFunc) error {
	if d, ok := doors[platform.Detect()]; ok {
		return d.queue(ctx, f)
	}
	return ErrNoPlatform
}

// Objects serves f, for objects storage reports created, on the platform that started the
// process (SCF's COS trigger, S3 event notifications on Lambda).
func Objects(ctx context.Context, f ObjectFunc) error {
	if d, ok := doors[platform.Detect()]; ok {
		return d.objects(ctx, f)
	}
	return ErrNoPlatform
}
