package formpolicy

import (
	"strings"
	"testing"
	"time"
)

func TestJSONParseRoundTrip(t *testing.T) {
	exp := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	d := &Document{Expiration: exp, Conditions: []Condition{
		Eq("bucket", "b-1250000000"), Eq("key", `a/"quoted" ü`), {Op: StartsWith, Field: "Content-Type", Value: "image/"}, Length(1, 1<<20),
	}}
	js := string(d.JSON())
	want := `{"expiration":"2026-12-03T12:00:00.000Z","conditions":[{"bucket":"b-1250000000"},{"key":"a/\"quoted\" ü"},["starts-with","$Content-Type","image/"],["content-length-range",1,1048576]]}`
	if js != want {
		t.Fatalf("JSON:\n got %s\nwant %s", js, want)
	}
	back, err := Parse([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	if !back.Expiration.Equal(exp) || len(back.Conditions) != 4 {
		t.Fatalf("parsed %+v", back)
	}
	if v, ok := back.Field("KEY"); !ok || v != `a/"quoted" ü` {
		t.Fatalf("Field(key) = %q %v", v, ok)
	}
	if min, max, ok := back.Range(); !ok || min != 1 || max != 1<<20 {
		t.Fatalf("Range = %d %d %v", min, max, ok)
	}
}

func TestParseRefuses(t *testing.T) {
	for _, doc := range []string{
		`[]`,
		`{"expiration":"tomorrow","conditions":[]}`,
		`{"expiration":"2026-12-03T12:00:00Z","conditions":[{"a":"1","b":"2"}]}`,
		`{"expiration":"2026-12-03T12:00:00Z","conditions":[["eq","key","x"]]}`,
		`{"expiration":"2026-12-03T12:00:00Z","conditions":[["regex","$key","x"]]}`,
		`{"expiration":"2026-12-03T12:00:00Z","conditions":[["content-length-range",10,1]]}`,
		`{"expiration":"2026-12-03T12:00:00Z","conditions":[["content-length-range",-1,1]]}`,
		`{"expiration":"2026-12-03T12:00:00Z","conditions":[["eq","$key"]]}`,
		`{"expiration":"2026-12-03T12:00:00Z","conditions":[7]}`,
	} {
		if _, err := Parse([]byte(doc)); err == nil {
			t.Errorf("Parse(%s) accepted", doc)
		}
	}
}

func TestCheck(t *testing.T) {
	now := time.Date(2026, 12, 3, 11, 0, 0, 0, time.UTC)
	d := &Document{Expiration: now.Add(time.Hour), Conditions: []Condition{
		Eq("bucket", "b"), Eq("key", "up/a.png"), Eq("Content-Type", "image/png"), {Op: StartsWith, Field: "x-cos-meta-tag", Value: "t-"}, Length(0, 10),
	}}
	exempt := func(n string) bool { return n == "policy" || n == "q-signature" }
	implied := map[string]string{"bucket": "b"}
	ok := map[string]string{"key": "up/a.png", "content-type": "image/png", "x-cos-meta-tag": "t-1", "policy": "x", "q-signature": "y"}
	if err := d.Check(ok, now, exempt, implied); err != nil {
		t.Fatalf("a form meeting the policy: %v", err)
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range ok {
			m[a] = b
		}
		if v == "\x00" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	for name, tc := range map[string]struct {
		fields map[string]string
		at     time.Time
		want   string
	}{
		"another key":        {with("key", "up/b.png"), now, "key"},
		"another type":       {with("content-type", "text/html"), now, "Content-Type"},
		"no type":            {with("content-type", "\x00"), now, "does not carry"},
		"prefix broken":      {with("x-cos-meta-tag", "x-1"), now, "x-cos-meta-tag"},
		"a field not signed": {with("acl", "public-read"), now, "not covered"},
		"expired":            {ok, now.Add(time.Hour), "expired"},
	} {
		err := d.Check(tc.fields, tc.at, exempt, implied)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %q", name, err, tc.want)
		}
	}
	if err := d.Check(ok, now, exempt, map[string]string{"bucket": "other"}); err == nil {
		t.Error("a form posted to another bucket passed")
	}
}
