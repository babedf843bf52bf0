// Command upload sends files through a directup API: go run ./scripts/upload -api URL FILE...
// It is the curl-in-a-minute check of local mode, and an example of the protocol. On a
// terminal it shows a progress line (speed, time left); with -token (an authenticated
// caller) an upload cut short stays open, and -resume continues the caller's open uploads
// of the files named, wherever they were started.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/directup/directup/shared/apiclient"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/upload"
	"github.com/directup/directup/shared/wire"
)

func main() {
	o := options{}
	flag.StringVar(&o.api, "api", "http://127.0.0.1:8080", "API base URL")
	flag.Int64Var(&o.partSize, "part-size", 0, "part size in bytes (0: let the API choose)")
	flag.IntVar(&o.parallel, "parallel", 4, "parts uploaded at once")
	flag.StringVar(&o.token, "token", os.Getenv("DIRECTUP_TOKEN"), "the caller's JWT (AUTH_MODE=jwt), sent as Authorization: Bearer (default $DIRECTUP_TOKEN)")
	flag.BoolVar(&o.resume, "resume", false, "continue the caller's open upload of each file (same name, size and fingerprint), started anywhere")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: upload [-api URL] [-part-size N] [-parallel N] [-token JWT] [-resume] FILE...")
		os.Exit(2)
	}
	if isTerminal(os.Stderr) {
		o.progress = os.Stderr
	}
	failed := false
	for _, path := range flag.Args() {
		if err := run(context.Background(), o, path, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintf(os.Stderr, "upload: %s: %v\n", path, err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

type options struct {
	api, token string
	partSize   int64
	parallel   int
	resume     bool
	progress   io.Writer // the progress line's terminal, or nil
}

// isTerminal reports whether f is a terminal (a character device): the progress line's
// carriage returns would litter a file or a pipe.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// run uploads one file, or continues its open upload; the completed object as JSON to out.
func run(ctx context.Context, o options, path string, out, log io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	size, name := st.Size(), filepath.Base(path)
	sent := &atomic.Int64{}
	c := &apiclient.Client{API: o.api, Concurrency: o.parallel, HTTP: &http.Client{Transport: counting{http.DefaultTransport, sent}}}
	if o.token != "" {
		c.Header = http.Header{"Authorization": {"Bearer " + o.token}}
	}
	var open *upload.OpenUpload
	if o.resume {
		if open, err = findOpen(ctx, c, name, size, f); err != nil {
			return err
		}
	}
	if open != nil {
		stored := int64(0)
		for _, p := range open.Parts {
			stored += p.Size
		}
		sent.Store(stored)
		fmt.Fprintf(log, "continuing upload %s: %d of %d parts stored\n", open.UploadID, len(open.Parts), open.PartCount)
	}
	stop := showProgress(o.progress, sent, size)
	up, done, err := send(ctx, c, o, open, name, size, f)
	stop()
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "uploaded %d bytes in %d parts\n", size, up.PartCount)
	return json.NewEncoder(out).Encode(done)
}

// findOpen is the caller's open upload of the file, or nil.
func findOpen(ctx context.Context, c *apiclient.Client, name string, size int64, f io.ReaderAt) (*upload.OpenUpload, error) {
	open, err := c.List(ctx)
	var e *apiclient.Error
	if errors.As(err, &e) && e.Code == "not_available" {
		return nil, fmt.Errorf("-resume: this API lists no uploads (%s): an authenticated caller (-token) can continue uploads", e.Message)
	}
	if err != nil {
		return nil, err
	}
	fp, err := apiclient.Fingerprint(name, size, f)
	if err != nil {
		return nil, err
	}
	return apiclient.Find(open, name, size, fp), nil
}

// send continues open, or starts an upload (with the file's head and fingerprint). An
// authenticated caller's upload cut short stays open for -resume; an anonymous one's is
// aborted, as nothing could find it again.
func send(ctx context.Context, c *apiclient.Client, o options, open *upload.OpenUpload, name string, size int64, f io.ReaderAt) (*upload.Initiated, *wire.Completed, error) {
	if open != nil {
		return c.Continue(ctx, open, f, nil)
	}
	ct := mime.TypeByExtension(filepath.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	up, err := c.Start(ctx, &policy.InitiateRequest{Filename: name, ContentType: ct, Size: &size, PartSize: o.partSize}, f)
	if err != nil {
		return nil, nil, err
	}
	done, err := c.Resume(ctx, up, f, nil, nil)
	if err == nil {
		return up, done, nil
	}
	if o.token != "" {
		return up, nil, fmt.Errorf("%w (the upload stays open: run again with -resume to continue it)", err)
	}
	c.Abort(context.WithoutCancel(ctx), up)
	return up, nil, err
}

// counting counts the bytes of part PUTs put on the wire (API calls are not the file).
type counting struct {
	next http.RoundTripper
	sent *atomic.Int64
}

func (c counting) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPut && r.Body != nil {
		r.Body = &countingBody{r.Body, c.sent}
	}
	return c.next.RoundTrip(r)
}

type countingBody struct {
	io.ReadCloser
	sent *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.sent.Add(int64(n))
	return n, err
}

// showProgress redraws a progress line on w twice a second until the returned stop is
// called; with w nil it shows nothing.
func showProgress(w io.Writer, sent *atomic.Int64, total int64) (stop func()) {
	if w == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		m := newMeter(10) // 10 samples half a second apart: a 5 s window
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				fmt.Fprintf(w, "\r%s\n", progressLine(sent.Load(), total, 0))
				return
			case now := <-tick.C:
				n := sent.Load()
				fmt.Fprintf(w, "\r%s", progressLine(n, total, m.add(now, n)))
			}
		}
	}()
	return func() { close(done); <-finished }
}

// meter is the speed over the last few samples of the bytes sent.
type meter struct {
	times []time.Time
	sent  []int64
	keep  int
}

func newMeter(keep int) *meter { return &meter{keep: keep} }

// add records a sample and returns bytes per second since the oldest kept (0 with one).
func (m *meter) add(t time.Time, sent int64) float64 {
	m.times, m.sent = append(m.times, t), append(m.sent, sent)
	if len(m.times) > m.keep {
		m.times, m.sent = m.times[1:], m.sent[1:]
	}
	dt := t.Sub(m.times[0]).Seconds()
	if dt <= 0 {
		return 0
	}
	return float64(sent-m.sent[0]) / dt
}

// progressLine is "42.0 %  12.6 MB of 30.0 MB  4.1 MB/s  4 s left", padded so a shorter
// line covers a longer one drawn before; no speed or time left while the speed is 0 or
// everything is sent (the complete runs).
func progressLine(sent, total int64, rate float64) string {
	sent = min(sent, total) // a part sent again is counted again
	pct := 100.0
	if total > 0 {
		pct = 100 * float64(sent) / float64(total)
	}
	s := fmt.Sprintf("%5.1f %%  %s of %s", pct, bytesOf(float64(sent)), bytesOf(float64(total)))
	if rate > 0 && sent < total {
		s += fmt.Sprintf("  %s/s  %s left", bytesOf(rate), duration(float64(total-sent)/rate))
	}
	return fmt.Sprintf("%-60s", s)
}

func bytesOf(n float64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", n/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", n/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", n/(1<<10))
	}
	return fmt.Sprintf("%.0f B", n)
}

func duration(seconds float64) string {
	s := int64(seconds + 0.5)
	if s < 60 {
		return fmt.Sprintf("%d s", s)
	}
	if s < 3600 {
		return fmt.Sprintf("%d min %d s", s/60, s%60)
	}
	return fmt.Sprintf("%d h %d min", s/3600, s%3600/60)
}
