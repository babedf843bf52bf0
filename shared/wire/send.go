package wire

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// PutPart sends one part as its request says (Method, URL, Headers; extra adds headers such
// as an SSE-C key) and returns the ETag storage answered.
func PutPart(ctx context.Context, hc *http.Client, p PresignedPart, data []byte, extra http.Header) (string, error) {
	req, err := http.NewRequestWithContext(ctx, p.Method, p.URL, bytes.NewReader(data))
	if err != nil {
		return "", err
	}
	for k, v := range p.Headers {
		req.Header.Set(k, v)
	}
	for k, v := range extra {
		req.Header[k] = v
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("part %d: storage answered %d: %s", p.PartNumber, resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	etag := resp.Header.Get("ETag")
	if etag == "" {
		return "", fmt.Errorf("part %d: storage sent no ETag", p.PartNumber)
	}
	return etag, nil
}
