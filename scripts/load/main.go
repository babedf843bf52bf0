// Command load runs a bounded load against local mode on loopback: many concurrent
// clients doing whole uploads (initiate, PUT the part straight to the store, complete; one
// in ten aborts instead), then reports throughput, latency per call and memory.
//
//	go run ./scripts/load [-concurrency 64] [-uploads 3000] [-size 4096]
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/directup/directup/shared/apiclient"
	"github.com/directup/directup/shared/checksum"
	"github.com/directup/directup/shared/cos"
	"github.com/directup/directup/shared/cos/cossign"
	"github.com/directup/directup/shared/credentials"
	"github.com/directup/directup/shared/httpapi"
	"github.com/directup/directup/shared/localcos"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/upload"
	"github.com/directup/directup/shared/wire"
)

type options struct {
	concurrency, uploads int
	size                 int64
	dir                  string
}

type result struct {
	elapsed   time.Duration
	requests  int
	errors    []error
	latencies map[string][]time.Duration
	heapMB    []float64 // live heap after GC at each quarter
	rssMB     float64
}

func main() {
	var o options
	flag.IntVar(&o.concurrency, "concurrency", 64, "concurrent clients")
	flag.IntVar(&o.uploads, "uploads", 3000, "uploads in all (each 3 or 2 API calls and one part PUT)")
	flag.Int64Var(&o.size, "size", 4096, "bytes per upload")
	flag.Parse()
	dir, err := os.MkdirTemp("", "directup-load-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	o.dir = dir
	r := run(o)
	fmt.Printf("%d uploads, %d requests, concurrency %d, in %.2fs: %.0f requests/s\n",
		o.uploads, r.requests, o.concurrency, r.elapsed.Seconds(), float64(r.requests)/r.elapsed.Seconds())
	for _, name := range []string{"initiate", "put part", "complete", "abort"} {
		d := r.latencies[name]
		slices.Sort(d)
		if len(d) > 0 {
			fmt.Printf("  %-9s n=%-5d p50 %6.2f ms  p99 %6.2f ms  max %6.2f ms\n", name, len(d),
				ms(d[len(d)/2]), ms(d[len(d)*99/100]), ms(d[len(d)-1]))
		}
	}
	fmt.Printf("  live heap after GC at 25/50/75/100%%: %.1f / %.1f / %.1f / %.1f MB; peak RSS %.1f MB\n",
		r.heapMB[0], r.heapMB[1], r.heapMB[2], r.heapMB[3], r.rssMB)
	fmt.Printf("  unexpected errors: %d\n", len(r.errors))
	for i, err := range r.errors {
		if i == 5 {
			break
		}
		fmt.Println("   ", err)
	}
	if len(r.errors) > 0 {
		os.Exit(1)
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func run(o options) result {
	cred := cossign.Credentials{SecretID: "AKIDload", SecretKey: "load-secret", SessionToken: "load-token"}
	store, err := localcos.New(o.dir, "local-1250000000", cred)
	if err != nil {
		panic(err)
	}
	// Both servers on loopback, as local mode runs them.
	storeSrv := httptest.NewServer(store)
	defer storeSrv.Close()
	transport := &http.Transport{MaxIdleConnsPerHost: 2 * o.concurrency}
	client, err := cos.New(cos.Config{Bucket: "local-1250000000", Endpoint: storeSrv.URL},
		credentials.Static{AccessKeyID: cred.SecretID, SecretAccessKey: cred.SecretKey, SessionToken: cred.SessionToken}, &http.Client{Transport: transport})
	if err != nil {
		panic(err)
	}
	svc, err := upload.NewService(client, policy.Default(), []byte(strings.Repeat("s", 32)))
	if err != nil {
		panic(err)
	}
	apiSrv := httptest.NewServer(httpapi.New(svc, httpapi.Options{}))
	defer apiSrv.Close()
	api := &apiclient.Client{API: apiSrv.URL, HTTP: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * o.concurrency}}}

	data := bytes.Repeat([]byte("directup"), int(o.size/8)+1)[:o.size]
	// The object's checksum in either store's algorithm, computed once: not timed.
	sums := map[string]string{checksum.CRC64ECMA: checksum.ECMA.Format(checksum.ECMA.Checksum(data)),
		checksum.CRC64NVME: checksum.NVME.Format(checksum.NVME.Checksum(data))}
	var mu sync.Mutex
	res := result{latencies: map[string][]time.Duration{}}
	timed := func(name string, f func() error) error {
		start := time.Now()
		err := f()
		d := time.Since(start)
		mu.Lock()
		res.requests++
		res.latencies[name] = append(res.latencies[name], d)
		if err != nil {
			res.errors = append(res.errors, fmt.Errorf("%s: %w", name, err))
		}
		mu.Unlock()
		return err
	}
	work := make(chan int)
	var wg sync.WaitGroup
	ctx := context.Background()
	start := time.Now()
	for w := 0; w < o.concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				size := o.size
				var up *upload.Initiated
				if timed("initiate", func() (err error) {
					up, err = api.Initiate(ctx, &policy.InitiateRequest{Filename: "f" + strconv.Itoa(i) + ".bin", ContentType: "application/octet-stream", Size: &size})
					return err
				}) != nil {
					continue
				}
				if i%10 == 9 {
					timed("abort", func() error { return api.Abort(ctx, up) })
					continue
				}
				var etag string
				if timed("put part", func() (err error) { etag, err = api.PutPart(ctx, up.Parts[0], data, nil); return err }) != nil {
					continue
				}
				timed("complete", func() error {
					// As a client does: the part's CRC in the store's algorithm, and the whole
					// object's (here the same), so S3's complete needs no listing.
					req := &wire.CompleteRequest{Parts: []wire.CompletedPart{{PartNumber: 1, ETag: etag}}}
					if sum := sums[up.ChecksumAlgorithm]; sum != "" {
						if up.ChecksumAlgorithm == checksum.CRC64NVME {
							req.Parts[0].Checksum, req.Checksum = sum, &wire.Checksum{CRC64NVME: sum}
						} else {
							req.Checksum = &wire.Checksum{CRC64ECMA: sum}
						}
					}
					done, err := api.CompleteWith(ctx, up, req)
					if err == nil && done.Size != size {
						err = errors.New("wrong size")
					}
					return err
				})
			}
		}()
	}
	for i := 0; i < o.uploads; i++ {
		if q := o.uploads / 4; q > 0 && i > 0 && i%q == 0 {
			res.heapMB = append(res.heapMB, liveHeapMB())
		}
		work <- i
	}
	close(work)
	wg.Wait()
	res.elapsed = time.Since(start)
	for len(res.heapMB) < 3 {
		res.heapMB = append(res.heapMB, 0)
	}
	res.heapMB = append(res.heapMB[:3], liveHeapMB())
	res.rssMB = peakRSSMB()
	if n := store.Uploads(); n != 0 {
		res.errors = append(res.errors, fmt.Errorf("%d uploads left open in the store", n))
	}
	return res
}

func liveHeapMB() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapAlloc) / (1 << 20)
}

// peakRSSMB reads VmHWM (Linux); 0 elsewhere.
func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}
