package secrets

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/directup/directup/shared/cloudfakes"
	"github.com/directup/directup/shared/credentials"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// A value shorter than the setting's minimum is refused and never kept: not served, and
// not rotated into the verify-only key when a good value follows.
func TestShortValueIsNeverKept(t *testing.T) {
	c := &clock{time.Unix(1_800_000_000, 0)}
	r := &countingReader{value: "good-value-0123456789abcdef012345"}
	s := &Secret{Setting: "AUTH_JWT_SECRET", Ref: Ref{Store: AWSSSM, Name: "n"}, Reader: r, TTL: time.Minute, Min: 32, Now: c.now}
	if cur, _, err := s.Value(context.Background()); err != nil || cur != r.value {
		t.Fatal(cur, err)
	}
	r.value = "x"
	c.t = c.t.Add(2 * time.Minute)
	if _, _, err := s.Value(context.Background()); err == nil || !strings.Contains(err.Error(), "shorter than 32") || strings.Contains(err.Error(), `"x"`) {
		t.Fatalf("a one-character value: %v", err)
	}
	r.value = "next-value-0123456789abcdef0123456"
	c.t = c.t.Add(2 * time.Minute)
	cur, prev, err := s.Value(context.Background())
	if err != nil || cur != r.value || prev != "good-value-0123456789abcdef012345" {
		t.Fatalf("after the short value: current %q previous %q %v", cur, prev, err)
	}
}

// The value a rotation replaced verifies for the grace window after the rotation, then
// no more: one rotation revokes a leaked value once the window ends.
func TestPreviousEndsWithTheGrace(t *testing.T) {
	c := &clock{time.Unix(1_800_000_000, 0)}
	r := &countingReader{value: "leaked-value-0123456789abcdef0123"}
	s := &Secret{Setting: "AUTH_JWT_SECRET", Ref: Ref{Store: AWSSSM, Name: "n"}, Reader: r, TTL: time.Minute, Grace: time.Hour, Now: c.now}
	s.Value(context.Background())
	r.value = "rotated-value-0123456789abcdef012"
	c.t = c.t.Add(2 * time.Minute)
	if _, prev, _ := s.Value(context.Background()); prev != "leaked-value-0123456789abcdef0123" {
		t.Fatalf("just after the rotation the previous is %q", prev)
	}
	c.t = c.t.Add(time.Hour)
	if _, prev, _ := s.Value(context.Background()); prev != "" {
		t.Fatalf("after the grace the previous still verifies: %q", prev)
	}
}

// An instance started after a rotation learns the value before it from the store
// (Secrets Manager's AWSPREVIOUS, the parameter's version before, Tencent SSM's version
// before the newest), for the grace window
// counted from the rotation itself; once that window has ended, it learns none.
func TestColdInstanceKnowsThePrevious(t *testing.T) {
	a := cloudfakes.NewAWS(t)
	awsEnv(t, a)
	rotated := time.Now()
	a.SetSecret("sm", "old-sm-value-0123456789abcdef0123")
	a.SetSecret("sm", "new-sm-value-0123456789abcdef0123")
	a.SetParameter("/p", "old-ssm-value-0123456789abcdef012")
	a.SetParameter("/p", "new-ssm-value-0123456789abcdef012")
	tc := cloudfakes.NewTencent(t, nil)
	tc.SetSecret("tc", "old-tc-value-0123456789abcdef0123")
	tc.SetSecret("tc", "new-tc-value-0123456789abcdef0123")
	readers := Readers{AWSSecretsManager: SecretsManager(), AWSSSM: ParameterStore(),
		TencentSSM: &TencentSSMReader{Creds: credentials.Static{AccessKeyID: tc.SecretID, SecretAccessKey: tc.SecretKey, SessionToken: tc.Token},
			Region: "ap-guangzhou", Endpoint: tc.URL}}
	for _, ref := range []string{"aws-secretsmanager:sm", "aws-ssm:/p", "tencent-ssm:tc"} {
		r, _ := Parse(ref)
		reader := readers[r.Store]
		for _, tc := range []struct {
			at   time.Time
			want bool
		}{{rotated.Add(time.Hour), true}, {rotated.Add(25 * time.Hour), false}} {
			s := &Secret{Setting: "UPLOAD_TOKEN_SECRET", Ref: r, Reader: reader, Now: func() time.Time { return tc.at }}
			cur, prev, err := s.Value(context.Background())
			if err != nil || !strings.HasPrefix(cur, "new-") || (prev != "") != tc.want || (tc.want && !strings.HasPrefix(prev, "old-")) {
				t.Errorf("%s %v after the rotation: current %q previous %q %v", ref, tc.at.Sub(rotated).Round(time.Hour), cur, prev, err)
			}
		}
	}
}

// A store that accepts the connection and never answers fails the read within the read
// timeout, whatever the caller's own deadline: requests get 503, not a hang.
func TestHangingStoreFailsFast(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	a := cloudfakes.NewAWS(t)
	awsEnv(t, a)
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://"+ln.Addr().String())
	defer func(d time.Duration) { readTimeout = d }(readTimeout)
	readTimeout = 300 * time.Millisecond
	r, _ := Parse("aws-secretsmanager:sm")
	s := &Secret{Setting: "UPLOAD_TOKEN_SECRET", Ref: r, Reader: SecretsManager()}
	start := time.Now()
	if _, _, err := s.Value(context.Background()); err == nil {
		t.Fatal("a hanging store answered")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the read took %v", d)
	}
}

// A user-defined Tencent SSM secret that refuses the SSM_Current label is read at its
// newest version.
func TestTencentSecretWithoutTheCurrentLabel(t *testing.T) {
	tc := cloudfakes.NewTencent(t, nil)
	tc.NoCurrentLabel = true
	tc.SetSecret("tc", "first-tc-value-0123456789abcdef01")
	tc.SetSecret("tc", "newest-tc-value-0123456789abcdef0")
	r := &TencentSSMReader{Creds: credentials.Static{AccessKeyID: tc.SecretID, SecretAccessKey: tc.SecretKey, SessionToken: tc.Token},
		Region: "ap-guangzhou", Endpoint: tc.URL}
	if v, err := r.Read(context.Background(), "tc"); err != nil || v != "newest-tc-value-0123456789abcdef0" {
		t.Fatalf("%q %v", v, err)
	}
	if _, err := r.Read(context.Background(), "missing"); err == nil {
		t.Fatal("a missing secret was read")
	}
}

// A warm instance that noticed a rotation late (idle, or the store unreachable) counts the
// old value's window from its last read that still saw it, so the window never outlasts
// the rotation's by the idle time.
func TestLateNoticeDoesNotStretchTheGrace(t *testing.T) {
	c := &clock{time.Unix(1_800_000_000, 0)}
	r := &countingReader{value: "old-value-0123456789abcdef0123456"}
	s := &Secret{Setting: "AUTH_JWT_SECRET", Ref: Ref{Store: AWSSSM, Name: "n"}, Reader: r, TTL: time.Minute, Grace: 24 * time.Hour, Now: c.now}
	s.Value(context.Background())
	r.value = "new-value-0123456789abcdef0123456"
	c.t = c.t.Add(20 * time.Hour) // the next request, long after the rotation
	if _, prev, _ := s.Value(context.Background()); prev == "" {
		t.Fatal("the old value does not verify right after the rotation was noticed")
	}
	c.t = c.t.Add(4*time.Hour + time.Second) // 24 h after the last read that saw the old value
	if _, prev, _ := s.Value(context.Background()); prev != "" {
		t.Fatalf("the old value verifies %v after the last read that saw it", 24*time.Hour)
	}
}

// futureHistorian tells a rotation ahead of the clock.
type futureHistorian struct{ countingReader }

func (f *futureHistorian) Previous(context.Context, string) (string, time.Time, bool, error) {
	return "previous-value-0123456789abcdef01", time.Now().Add(30 * 24 * time.Hour), true, nil
}

// A rotation time ahead of the clock (skew, a unit mixed up) is taken as now: the window
// never runs past now + grace.
func TestFutureRotationTimeIsCapped(t *testing.T) {
	now := time.Now()
	s := &Secret{Setting: "AUTH_JWT_SECRET", Ref: Ref{Store: AWSSSM, Name: "n"}, Grace: time.Hour,
		Reader: &futureHistorian{countingReader{value: "current-value-0123456789abcdef012"}}}
	c := &clock{now}
	s.Now = c.now
	if _, prev, _ := s.Value(context.Background()); prev == "" {
		t.Fatal("the previous value was not learnt")
	}
	c.t = now.Add(time.Hour + time.Minute*2)
	if _, prev, _ := s.Value(context.Background()); prev != "" {
		t.Fatal("the previous value outlived now + grace")
	}
}

// Callers queued behind a read that failed share its failure: with a store that hangs, the
// last of several concurrent callers waits about one read timeout, not one each.
func TestQueuedCallersShareAFailedRead(t *testing.T) {
	defer func(d time.Duration) { readTimeout = d }(readTimeout)
	readTimeout = 200 * time.Millisecond
	s := &Secret{Setting: "UPLOAD_TOKEN_SECRET", Ref: Ref{Store: AWSSSM, Name: "n"}, Reader: hanging{}}
	start := time.Now()
	done := make(chan error, 5)
	for range 5 {
		go func() { _, _, err := s.Value(context.Background()); done <- err }()
	}
	for range 5 {
		if err := <-done; err == nil {
			t.Fatal("a hanging store answered")
		}
	}
	if d := time.Since(start); d > 600*time.Millisecond {
		t.Fatalf("5 queued callers took %v behind a 200 ms read timeout", d)
	}
}

// hanging is a store that answers only when the caller gives up.
type hanging struct{}

func (hanging) Read(ctx context.Context, _ string) (string, error) {
	<-ctx.Done()
	return "", ctx.Err()
}
