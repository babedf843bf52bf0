package webhook

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// Which answers are delivered again (README: a 3xx or 4xx answer, but 429, is not
// retried): a refusal ends at once, a receiver that is busy or failing gets every attempt.
func TestWhichAnswersAreRetried(t *testing.T) {
	for _, tt := range []struct {
		status    int
		wantPosts int32
		refused   bool
	}{
		{http.StatusBadRequest, 1, true},
		{http.StatusForbidden, 1, true},
		{http.StatusTooManyRequests, 3, false},
		{http.StatusInternalServerError, 3, false},
		{http.StatusServiceUnavailable, 3, false},
	} {
		var n atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			w.WriteHeader(tt.status)
		}))
		tg := &Target{Secret: []byte("0123456789abcdef")}
		err := tg.Deliver(context.Background(), srv.URL+"/in", []byte(`{}`), 3, time.Second)
		srv.Close()
		var refused *RefusedError
		if err == nil || errors.As(err, &refused) != tt.refused || n.Load() != tt.wantPosts {
			t.Errorf("%d: %d posts, error %v; want %d posts, refused %v", tt.status, n.Load(), err, tt.wantPosts, tt.refused)
		}
	}
}
