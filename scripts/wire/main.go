// Command wire measures what a client feels when it needs every part URL of a
// 10,000-part upload: fetched over HTTP (loopback TCP) from the API as a function runs it
// (settings from the environment at their defaults, the composition root's whole handler,
// a session-token credential) by the Go client (shared/apiclient), in the compact form and
// in the full form at the default batch, beside the official COS Go SDK presigning the
// same 10,000 URLs in-process. The compact form is timed as the client takes it (decoded
// and checked; each URL is built as its part is sent, as apiclient and directup.js do) and
// with all 10,000 URLs built up front. It prints the median of each and the ratios; the
// answers' sizes are what went over the wire.
//
//	go run ./scripts/wire [-runs 9] [-token 300]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	cossdk "github.com/tencentyun/cos-go-sdk-v5"

	"github.com/directup/directup/shared/apiclient"
	"github.com/directup/directup/shared/app"
	"github.com/directup/directup/shared/config"
	"github.com/directup/directup/shared/cos/cossign"
	"github.com/directup/directup/shared/localcos"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/upload"
	"github.com/directup/directup/shared/wire"
)

const parts = 10000

// counting counts the response bytes a client read.
type counting struct {
	next http.RoundTripper
	n    atomic.Int64
}

func (c *counting) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := c.next.RoundTrip(r)
	if err == nil {
		res.Body = &countBody{res.Body, &c.n}
	}
	return res, err
}

type countBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

func main() {
	runs := flag.Int("runs", 9, "runs of each measurement; the median is printed")
	tokenLen := flag.Int("token", 300, "session token length (Tencent's are several hundred characters)")
	only := flag.String("only", "", "measure only this one (compact, full, sdk), e.g. to profile it")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the whole run (client and server) here")
	flag.Parse()
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "wire:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if err := run(*runs, *tokenLen, *only); err != nil {
		fmt.Fprintln(os.Stderr, "wire:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(runs, tokenLen int, only string) error {
	dir, err := os.MkdirTemp("", "directup-wire-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cred := cossign.Credentials{SecretID: "AKIDwire", SecretKey: "wire-secret", SessionToken: strings.Repeat("T", tokenLen)}
	store, err := localcos.New(dir, "local-1250000000", cred)
	if err != nil {
		return err
	}
	storeSrv := httptest.NewServer(store)
	defer storeSrv.Close()
	// The API as a function runs it: its settings from the environment at their defaults
	// (8 MiB parts, 100 URLs per full-form answer), wired by the composition root, the whole
	// handler (logging included). Only the size limit is raised, to 10,000 parts of 8 MiB;
	// the credentials are the session-token kind a function's role gives.
	for k, v := range map[string]string{
		"COS_BUCKET": "local-1250000000", "COS_REGION": "ap-guangzhou", "COS_ENDPOINT": storeSrv.URL,
		"TENCENTCLOUD_SECRETID": cred.SecretID, "TENCENTCLOUD_SECRETKEY": cred.SecretKey, "TENCENTCLOUD_SESSIONTOKEN": cred.SessionToken,
		"UPLOAD_TOKEN_SECRET": strings.Repeat("s", 32), "UPLOAD_MAX_SIZE": strconv.Itoa(parts * 8 << 20),
	} {
		os.Setenv(k, v)
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	a, err := app.New(cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	pol := a.Service.Policy()
	apiSrv := httptest.NewServer(a.Handler(slog.New(slog.NewJSONHandler(io.Discard, nil))))
	defer apiSrv.Close()
	counter := &counting{next: http.DefaultTransport}
	api := &apiclient.Client{API: apiSrv.URL, HTTP: &http.Client{Transport: counter}}
	ctx := context.Background()
	size := pol.MaxSize
	req := &policy.InitiateRequest{Filename: "video.mp4", ContentType: "video/mp4", Size: &size}

	// The URLs of one upload, to check every form gives them all, and the same ones.
	up, err := api.InitiateAll(ctx, req)
	if err != nil {
		return err
	}
	if up.CompactParts == nil {
		return fmt.Errorf("the initiate answered no compact form")
	}
	if up.Parts, err = up.CompactParts.Expand(); err != nil || len(up.Parts) != parts {
		return fmt.Errorf("compact initiate gave %d URLs, want %d (%v)", len(up.Parts), parts, err)
	}
	allNumbers := make([]int, parts)
	for i := range allNumbers {
		allNumbers[i] = i + 1
	}

	var compactBytes int64
	// renewCompact fetches every URL in the compact form as the Go client does (decoded and
	// checked; each URL is built when its part is sent); built also builds every URL now.
	renewCompact := func(built bool) (*upload.PartURLs, error) {
		before := counter.n.Load()
		out, err := api.PresignAll(ctx, up, nil)
		compactBytes = counter.n.Load() - before
		if err == nil && out.CompactParts == nil {
			err = fmt.Errorf("no compact answer")
		}
		if err == nil && built {
			out.Parts, err = out.CompactParts.Expand()
		}
		return out, err
	}
	var fullBytes int64
	full := func() ([]wire.PresignedPart, error) {
		before := counter.n.Load()
		var got []wire.PresignedPart
		for batch := range slices.Chunk(allNumbers, pol.PartBatch) {
			out, err := api.Presign(ctx, up, batch)
			if err != nil {
				return nil, err
			}
			got = append(got, out.Parts...)
		}
		fullBytes = counter.n.Load() - before
		return got, nil
	}
	// The official SDK presigning the same URLs (same host, key, upload id, token, sizes).
	base, _ := url.Parse(storeSrv.URL)
	sdk := cossdk.NewClient(&cossdk.BaseURL{BucketURL: base}, nil)
	sdkURLs := func() ([]string, error) {
		out := make([]string, 0, parts)
		for _, p := range up.Parts {
			q := url.Values{"partNumber": {strconv.Itoa(p.PartNumber)}, "uploadId": {up.UploadID}, "x-cos-security-token": {cred.SessionToken}}
			h := http.Header{"Content-Length": {strconv.FormatInt(p.Size, 10)}}
			u, err := sdk.Object.GetPresignedURL(ctx, http.MethodPut, up.Key, cred.SecretID, cred.SecretKey, time.Hour,
				&cossdk.PresignedURLOptions{Query: &q, Header: &h})
			if err != nil {
				return nil, err
			}
			out = append(out, u.String())
		}
		return out, nil
	}

	// Every form must give every URL, each one the same as the compact form's (the
	// signatures differ only in their time, so compare what they sign).
	check := func(name string, got []wire.PresignedPart) error {
		if len(got) != parts {
			return fmt.Errorf("%s gave %d URLs, want %d", name, len(got), parts)
		}
		for i, p := range got {
			if p.PartNumber != i+1 || p.Size != up.Parts[i].Size || withoutSignature(p.URL) != withoutSignature(up.Parts[i].URL) {
				return fmt.Errorf("%s part %d differs:\n%s\n%s", name, i+1, p.URL, up.Parts[i].URL)
			}
		}
		return nil
	}
	med := func(d []time.Duration) time.Duration { slices.Sort(d); return d[len(d)/2] }
	// Each measurement is timed alone; what it gave is checked after the clock stops.
	type measure struct {
		name  string
		f     func() error
		check func() error
	}
	var compactGot, fullGot []wire.PresignedPart
	var decoded *upload.PartURLs
	var sdkGot []string
	ms := []measure{
		{"compact", func() error {
			out, err := renewCompact(true)
			if err == nil {
				compactGot = out.Parts
			}
			return err
		}, func() error { return check("compact", compactGot) }},
		{"decoded", func() (err error) { decoded, err = renewCompact(false); return err }, func() error {
			parts, err := decoded.CompactParts.Expand()
			if err != nil {
				return err
			}
			return check("decoded", parts)
		}},
		{"full", func() (err error) { fullGot, err = full(); return err }, func() error { return check("full", fullGot) }},
		{"sdk", func() (err error) { sdkGot, err = sdkURLs(); return err }, func() error {
			if len(sdkGot) != parts {
				return fmt.Errorf("sdk gave %d URLs", len(sdkGot))
			}
			return nil
		}},
	}
	var times [4][]time.Duration
	for r := 0; r < runs+1; r++ { // the first round warms up and is not counted
		for i, m := range ms {
			if only != "" && m.name != only {
				continue
			}
			runtime.GC() // the checks' garbage is not the measured work's
			start := time.Now()
			err := m.f()
			took := time.Since(start)
			if err == nil {
				err = m.check()
			}
			if err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
			if r > 0 {
				times[i] = append(times[i], took)
			}
		}
	}
	if only != "" {
		for i, m := range ms {
			if m.name == only {
				fmt.Printf("%s: median %.1f ms of %d runs\n", only, msOf(med(times[i])), runs)
			}
		}
		return nil
	}
	compact, dec, fullT, sdkT := med(times[0]), med(times[1]), med(times[2]), med(times[3])
	fmt.Printf("every URL of a %d-part upload, session token of %d characters, median of %d runs\n", parts, tokenLen, runs)
	fmt.Printf("  over HTTP, compact form (one request), as the client takes it:  %8.1f ms  %7d bytes\n", msOf(dec), compactBytes)
	fmt.Printf("  the same, all %d URLs built up front:                       %8.1f ms\n", parts, msOf(compact))
	fmt.Printf("  over HTTP, full form (%d requests of %d):                      %8.1f ms  %7d bytes\n", parts/pol.PartBatch, pol.PartBatch, msOf(fullT), fullBytes)
	fmt.Printf("  official COS Go SDK GetPresignedURL, in-process:                %8.1f ms\n", msOf(sdkT))
	fmt.Printf("the compact form over HTTP is %.1fx faster than the SDK in-process (%.1fx with every URL built up front), %.1fx faster than the full form\n",
		float64(sdkT)/float64(dec), float64(sdkT)/float64(compact), float64(fullT)/float64(dec))
	return nil
}

func msOf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// withoutSignature drops what depends on the signing time.
func withoutSignature(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	q := p.Query()
	q.Del("q-sign-time")
	q.Del("q-key-time")
	q.Del("q-signature")
	p.RawQuery = q.Encode()
	return p.String()
}
