package storerest

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/directup/directup/shared/errcode"
)

// README (Errors): COS busy answers are "retried with jittered exponential backoff (4
// attempts, 100 ms doubling to 2 s)". A 429 Too Many Requests is one, whatever its body
// says (a gateway's 429 has no COS error code): it is retried, within the attempts and
// with waits no longer than the backoff's ceiling.
func TestGuaranteeTooManyRequestsIsRetried(t *testing.T) {
	for _, tt := range []struct {
		name   string
		answer func(w http.ResponseWriter)
	}{
		{"bare 429", func(w http.ResponseWriter) { w.WriteHeader(http.StatusTooManyRequests) }},
		{"429 with an unlisted code", func(w http.ResponseWriter) { errorAnswer(w, http.StatusTooManyRequests, "RequestLimitExceeded") }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, fail := range []int{1, 3, -1} { // then success; forever
				var mu sync.Mutex
				var at []time.Time
				c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
					mu.Lock()
					at = append(at, time.Now())
					n := len(at)
					mu.Unlock()
					if fail < 0 || n <= fail {
						tt.answer(w)
						return
					}
					w.WriteHeader(http.StatusNoContent)
				})
				c.BaseDelay, c.MaxDelay = 20*time.Millisecond, 40*time.Millisecond
				err := c.Abort(context.Background(), "k", "u")
				mu.Lock()
				calls := len(at)
				mu.Unlock()
				switch {
				case fail > 0 && (err != nil || calls != fail+1):
					t.Errorf("%d 429s then success: %v after %d calls; want success after %d", fail, err, calls, fail+1)
				case fail < 0 && (err == nil || calls != c.MaxAttempts):
					t.Errorf("429 forever: %v after %d calls; want an error after %d attempts", err, calls, c.MaxAttempts)
				}
				if e := errcode.As(err); fail < 0 && (e.Code != errcode.UpstreamBusy) {
					t.Errorf("429 forever answered %v: want 503 upstream_unavailable (busy, the client's request was not at fault)", err)
				}
				for i := 1; i < calls; i++ {
					if gap := at[i].Sub(at[i-1]); gap > c.MaxDelay+500*time.Millisecond {
						t.Errorf("attempt %d waited %v, past the backoff ceiling %v", i+1, gap, c.MaxDelay)
					}
				}
			}
		})
	}
}

// README (Security model): "Orphan clean-up after a lost initiate answer aborts the
// uploads started on the same key within about a minute of the lost attempt": of the
// uploads listed on the key, those started since the first attempt (less a minute for the
// store's clock) are aborted, except the one answered; older ones and other keys' stay.
func TestGuaranteeOrphanCleanUpWindow(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	var initiates int
	var aborted []string
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		q := r.URL.Query()
		switch {
		case r.Method == http.MethodPost && q.Has("uploads"):
			if initiates++; initiates == 1 { // carried out, and the answer is lost
				conn, _, _ := w.(http.Hijacker).Hijack()
				conn.Close()
				return
			}
			fmt.Fprint(w, "<InitiateMultipartUploadResult><UploadId>answered</UploadId></InitiateMultipartUploadResult>")
		case r.Method == http.MethodGet && q.Has("uploads"):
			at := func(d time.Duration) string { return start.Add(d).Format("2006-01-02T15:04:05.000Z") }
			fmt.Fprintf(w, `<ListMultipartUploadsResult>
<Upload><Key>k</Key><UploadId>before</UploadId><Initiated>%s</Initiated></Upload>
<Upload><Key>k</Key><UploadId>skewed</UploadId><Initiated>%s</Initiated></Upload>
<Upload><Key>k</Key><UploadId>orphan</UploadId><Initiated>%s</Initiated></Upload>
<Upload><Key>k</Key><UploadId>answered</UploadId><Initiated>%s</Initiated></Upload>
<Upload><Key>k/other</Key><UploadId>other-key</UploadId><Initiated>%s</Initiated></Upload>
</ListMultipartUploadsResult>`, at(-61*time.Second), at(-59*time.Second), at(time.Second), at(2*time.Second), at(time.Second))
		case r.Method == http.MethodDelete:
			aborted = append(aborted, q.Get("uploadId"))
			w.WriteHeader(http.StatusNoContent)
		default:
			w.WriteHeader(http.StatusBadRequest)
		}
	})
	c.Now = func() time.Time { return start }
	id, err := c.Initiate(context.Background(), "k", nil)
	if err != nil || id != "answered" {
		t.Fatalf("initiate: %q %v", id, err)
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(aborted)
	if !slices.Equal(aborted, []string{"orphan", "skewed"}) {
		t.Errorf("aborted %v; want the uploads on k since a minute before the first attempt, but the answered one: [orphan skewed]", aborted)
	}
}
