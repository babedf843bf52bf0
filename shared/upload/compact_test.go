package upload

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
		if got := c.Expand(); !reflect.DeepEqual(got, parts) {
			t.Fatalf("%s: Expand differs from the full form", name)
		}
		for i, p := range c.Parts {
			if c.PartURL(p) != parts[i].URL {
				t.Fatalf("%s: PartURL(%d) = %s", name, p.Number, c.PartURL(p))
			}
		}
		// Through JSON and back, by the fast path and by encoding/json's (spaces).
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		var back CompactParts
		if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back.Expand(), parts) {
			t.Fatalf("%s: JSON round trip: %v", name, err)
		}
		var spaced CompactParts
		if err := json.Unmarshal([]byte(strings.ReplaceAll(string(b), ",", " , ")), &spaced); err != nil || !reflect.DeepEqual(spaced.Expand(), parts) {
			t.Fatalf("%s: JSON with spaces: %v", name, err)
		}
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
	// The list's own encoder is not re-validated by httpapi: any signature must come out as
	// valid JSON.
	odd := CompactPartList{{1, 5, "0a1b"}, {2, 0, "q\"uo\\te\x01é"}}
	b, err := odd.MarshalJSON()
	var back CompactPartList
	if err != nil || !json.Valid(b) || json.Unmarshal(b, &back) != nil || !reflect.DeepEqual(back, odd) {
		t.Fatalf("odd signatures: %s %v, back %v", b, err, back)
	}
	for _, bad := range []string{`[[1,2]]`, `[[1,2,"a"],`, `[["x",2,"a"]]`, `{}`} {
		var l CompactPartList
		if err := json.Unmarshal([]byte(bad), &l); err == nil {
			t.Errorf("%s: decoded as %v", bad, l)
		}
	}
}
