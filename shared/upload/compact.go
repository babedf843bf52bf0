package upload

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// CompactParts are part URLs in their compact form: what every URL of a batch shares, once
// — a URL template with {partNumber} and {signature} in it, the method, the headers — and
// per part only its number, size and signature. 10,000 parts take about 600 KB instead of
// 8 MB (each full URL repeats the session token, key and upload id), so a whole upload's
// URLs fit one answer; a client builds each URL with two string replacements.
type CompactParts struct {
	URL               string            `json:"url"`
	Method            string            `json:"method"`
	Headers           map[string]string `json:"headers"`
	CustomerKeyHeader string            `json:"customerKeyHeader,omitempty"`
	CRC64Header       string            `json:"crc64Header,omitempty"`
	Parts             []CompactPart     `json:"parts"`
}

// CompactPart is [partNumber, size, signature] on the wire.
type CompactPart struct {
	Number    int
	Size      int64
	Signature string
}

// MarshalJSON writes [n, size, "signature"].
func (p CompactPart) MarshalJSON() ([]byte, error) {
	b := append([]byte{'['}, strconv.Itoa(p.Number)...)
	b = append(append(b, ','), strconv.FormatInt(p.Size, 10)...)
	b = append(append(b, ','), strconv.Quote(p.Signature)...)
	return append(b, ']'), nil
}

// UnmarshalJSON reads [n, size, "signature"].
func (p *CompactPart) UnmarshalJSON(b []byte) error {
	var a [3]json.RawMessage
	if err := json.Unmarshal(b, &a); err != nil {
		return err
	}
	if err := json.Unmarshal(a[0], &p.Number); err != nil {
		return err
	}
	if err := json.Unmarshal(a[1], &p.Size); err != nil {
		return err
	}
	return json.Unmarshal(a[2], &p.Signature)
}

// Template placeholders.
const (
	PartNumberPlaceholder = "{partNumber}"
	SignaturePlaceholder  = "{signature}"
)

// signatureParams are the query parameters stores put a URL's signature in.
var signatureParams = []string{"q-signature=", "X-Amz-Signature="}

// Compact turns full part URLs into the compact form; ok is false when they do not share
// one template (then the full form is answered).
func Compact(parts []PresignedPart) (*CompactParts, bool) {
	if len(parts) == 0 {
		return nil, false
	}
	var out CompactParts
	for i, p := range parts {
		tpl, sig, err := template(p.URL, p.PartNumber)
		if err != nil {
			return nil, false
		}
		if i == 0 {
			out = CompactParts{URL: tpl, Method: p.Method, Headers: p.Headers, CustomerKeyHeader: p.CustomerKeyHeader, CRC64Header: p.CRC64Header,
				Parts: make([]CompactPart, 0, len(parts))}
		} else if tpl != out.URL || p.Method != out.Method || p.CustomerKeyHeader != out.CustomerKeyHeader || p.CRC64Header != out.CRC64Header || !sameHeaders(p.Headers, out.Headers) {
			return nil, false
		}
		out.Parts = append(out.Parts, CompactPart{Number: p.PartNumber, Size: p.Size, Signature: sig})
	}
	return &out, true
}

// PartURL builds one part's URL from the template.
func (c *CompactParts) PartURL(p CompactPart) string {
	return strings.Replace(strings.Replace(c.URL, PartNumberPlaceholder, strconv.Itoa(p.Number), 1), SignaturePlaceholder, p.Signature, 1)
}

var errNoTemplate = errors.New("upload: the URL has no part number or signature to template")

// template replaces the part number and the signature in u by placeholders.
func template(u string, n int) (string, string, error) {
	num := "partNumber=" + strconv.Itoa(n)
	q := strings.IndexByte(u, '?')
	if q < 0 {
		return "", "", errNoTemplate
	}
	i := strings.Index(u[q:], num)
	if i < 0 {
		return "", "", errNoTemplate
	}
	i += q // only the query is searched: a key may hold anything
	if (i+len(num) < len(u) && u[i+len(num)] != '&') || (u[i-1] != '?' && u[i-1] != '&') {
		return "", "", errNoTemplate
	}
	u = u[:i] + "partNumber=" + PartNumberPlaceholder + u[i+len(num):]
	for _, param := range signatureParams {
		j := strings.Index(u[q:], param)
		if j < 0 {
			continue
		}
		j += q
		if u[j-1] != '?' && u[j-1] != '&' {
			continue
		}
		start := j + len(param)
		end := strings.IndexByte(u[start:], '&')
		if end < 0 {
			end = len(u) - start
		}
		sig := u[start : start+end]
		if sig == "" || strings.Contains(u[start+end:], param) {
			return "", "", errNoTemplate
		}
		return u[:start] + SignaturePlaceholder + u[start+end:], sig, nil
	}
	return "", "", errNoTemplate
}

func sameHeaders(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
