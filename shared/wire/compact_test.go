package wire

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func partsFor(urlf func(n int, sig string) string, n int) []PresignedPart {
	out := make([]PresignedPart, n)
	for i := range out {
		out[i] = PresignedPart{PartNumber: i + 1, Method: "PUT", URL: urlf(i+1, fmt.Sprintf("%040x", i*7919)), Size: int64(i) << 20,
			Headers: map[string]string{"x-cos-server-side-encryption-customer-algorithm": "AES256"}}
	}
	return out
}

// TestCompact checks the compact form rebuilds every URL exactly, and that URLs which do not
// share one template are left in the full form.
func TestCompact(t *testing.T) {
	cos := func(n int, sig string) string {
		return fmt.Sprintf("https://b-1250000000.cos.ap-guangzhou.myqcloud.com/a/%%7BpartNumber%%7D%%7Bsignature%%7D?partNumber=%d&uploadId=u&q-signature=%s&x-cos-security-token=T", n, sig)
	}
	s3 := func(n int, sig string) string {
		return fmt.Sprintf("http://127.0.0.1:7070/b/k?X-Amz-Date=1&partNumber=%d&uploadId=u&X-Amz-Signature=%s", n, sig)
	}
	for name, parts := range map[string][]PresignedPart{"cos": partsFor(cos, 300), "s3": partsFor(s3, 12), "one": partsFor(s3, 1)} {
		c, ok := Compact(parts)
		if !ok {
			t.Fatalf("%s: no compact form", name)
		}
		// Sizes grow by part here: every part is a run of its own.
		if len(c.Parts) != len(parts) || c.SignatureLength != 40 || len(c.Signatures) != 40*len(parts) {
			t.Fatalf("%s: %d runs, signatures %d of %d", name, len(c.Parts), len(c.Signatures), c.SignatureLength)
		}
		if got, err := c.Expand(); err != nil || !reflect.DeepEqual(got, parts) {
			t.Fatalf("%s: Expand differs from the full form: %v", name, err)
		}
		for i, p := range parts {
			if got := c.PartURL(i, p.PartNumber); got != p.URL {
				t.Fatalf("%s: PartURL(%d) = %s", name, p.PartNumber, got)
			}
		}
		// Through JSON and back.
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		var back CompactParts
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if got, err := back.Expand(); err != nil || !reflect.DeepEqual(got, parts) {
			t.Fatalf("%s: JSON round trip: %v", name, err)
		}
	}
	// Signatures with escapes (any store's) decode by encoding/json's way.
	odd := CompactParts{URL: "h/k?n=" + PartNumberPlaceholder + "&s=" + SignaturePlaceholder, Parts: []PartRun{{1, 2, 0}},
		Signatures: "a\"\\é\x01", SignatureLength: 3}
	b, err := json.Marshal(&odd)
	var back CompactParts
	if err != nil || json.Unmarshal(b, &back) != nil || back.Signatures != odd.Signatures {
		t.Fatalf("odd signatures: %s -> %q (%v)", b, back.Signatures, err)
	}
	if err := json.Unmarshal([]byte(`{"signatures":7}`), &back); err == nil {
		t.Fatal("a number decoded as signatures")
	}
	// A plan: equal parts and a shorter last one are two runs.
	plan := partsFor(s3, 1000)
	for i := range plan {
		plan[i].Size = 5 << 20
	}
	plan[999].Size = 7
	c, ok := Compact(plan)
	if !ok || !reflect.DeepEqual(c.Parts, []PartRun{{1, 999, 5 << 20}, {1000, 1, 7}}) || c.Len() != 1000 {
		t.Fatalf("plan runs: %+v", c.Parts)
	}
	if got, err := c.Expand(); err != nil || !reflect.DeepEqual(got, plan) {
		t.Fatalf("plan: Expand differs: %v", err)
	}
	// Parts asked for out of order and with gaps keep their order.
	specs := []PartSpec{{7, 1}, {8, 1}, {3, 1}, {4, 2}, {5, 2}, {9, 1}}
	if got := RunsOf(specs); !reflect.DeepEqual(got, []PartRun{{7, 2, 1}, {3, 1, 1}, {4, 2, 2}, {9, 1, 1}}) {
		t.Fatalf("RunsOf = %+v", got)
	}
	mismatch := map[string]func([]PresignedPart){
		"other key":       func(p []PresignedPart) { p[5].URL = strings.Replace(p[5].URL, "/k?", "/j?", 1) },
		"wrong number":    func(p []PresignedPart) { p[5].PartNumber = 60 },
		"no signature":    func(p []PresignedPart) { p[5].URL = strings.Replace(p[5].URL, "X-Amz-Signature", "X-Amz-Other", 1) },
		"other headers":   func(p []PresignedPart) { p[5].Headers = nil },
		"other method":    func(p []PresignedPart) { p[5].Method = "POST" },
		"extra parameter": func(p []PresignedPart) { p[5].URL += "&x=1" },
	}
	for name, spoil := range mismatch {
		parts := partsFor(s3, 10)
		spoil(parts)
		if _, ok := Compact(parts); ok {
			t.Errorf("%s: compacted URLs that do not share a template", name)
		}
	}
	// What a client must not slice: answers that do not add up are refused by Check.
	good := func() *CompactParts {
		c, _ := Compact(partsFor(s3, 3))
		return c
	}
	broken := map[string]func(*CompactParts){
		"signatures short":        func(c *CompactParts) { c.Signatures = c.Signatures[1:] },
		"no signature length":     func(c *CompactParts) { c.SignatureLength = 0 },
		"run from 0":              func(c *CompactParts) { c.Parts[0].From = 0 },
		"empty run":               func(c *CompactParts) { c.Parts[1].Count = 0 },
		"negative size":           func(c *CompactParts) { c.Parts[1].Size = -1 },
		"no number placeholder":   func(c *CompactParts) { c.URL = strings.Replace(c.URL, PartNumberPlaceholder, "1", 1) },
		"placeholder twice":       func(c *CompactParts) { c.URL += "&x=" + SignaturePlaceholder },
		"placeholders swapped":    func(c *CompactParts) { c.URL = "http://h/k?s=" + SignaturePlaceholder + "&n=" + PartNumberPlaceholder },
		"placeholder in the path": func(c *CompactParts) { c.URL = "http://h/" + PartNumberPlaceholder + "?s=" + SignaturePlaceholder },
		"run past the part limit": func(c *CompactParts) { c.Parts[0].Count = MaxPartNumber + 1 },
		"run ending past 10000":   func(c *CompactParts) { c.Parts = []PartRun{{MaxPartNumber, 2, 0}, c.Parts[2]} },
		"huge from":               func(c *CompactParts) { c.Parts[0].From = 1 << 62 },
	}
	if err := good().Check(); err != nil {
		t.Fatal(err)
	}
	for name, spoil := range broken {
		c := good()
		spoil(c)
		if _, err := c.Expand(); err == nil {
			t.Errorf("%s: expanded", name)
		}
	}
}
