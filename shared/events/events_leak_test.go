package events_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/directup/directup/shared/events"
)

// A token in EVENTS_URL's query or userinfo is never logged nor returned when an event
// cannot be delivered (the receiver is down, hangs or fails), while the event still is
// logged whole.
func TestEventsURLSecretsAreNotLeaked(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := l.Addr().String()
	l.Close()
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer hung.Close()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer failing.Close()
	for name, host := range map[string]string{"closed port": closed, "hangs": hung.Listener.Addr().String(), "answers 500": failing.Listener.Addr().String()} {
		t.Run(name, func(t *testing.T) {
			var logs bytes.Buffer
			pub := events.New(events.Settings{URL: "http://user:pass@" + host + "/events?token=s3cr3t", Secret: secret}, slog.New(slog.NewJSONHandler(&logs, nil)))
			pub.Attempts, pub.Timeout = 2, 200*time.Millisecond
			err := pub.Publish(context.Background(), &events.Event{Type: events.Completed, ID: "ev-1", Key: "uploads/a"})
			if err == nil {
				t.Fatal("delivered")
			}
			if !strings.Contains(logs.String(), `"event undelivered"`) || !strings.Contains(logs.String(), `"ev-1"`) {
				t.Fatalf("the event was not logged: %s", logs.String())
			}
			for _, s := range []string{err.Error(), logs.String()} {
				for _, leak := range []string{"s3cr3t", "token", "user:pass", "pass@"} {
					if strings.Contains(s, leak) {
						t.Errorf("%q leaks in %s", leak, s)
					}
				}
			}
		})
	}
}
