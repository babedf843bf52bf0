package wire

import (
	"errors"
	"testing"

	"github.com/directup/directup/shared/errcode"
)

// The error object's bytes are the API's contract (README shows them).
func TestErrorJSON(t *testing.T) {
	for _, tt := range []struct {
		err  error
		rid  string
		want string
	}{
		{errcode.Denied("acl", "acl public-read is not allowed here"), "r1",
			`{"error":{"code":"policy_denied","message":"acl public-read is not allowed here","field":"acl","requestId":"r1"}}`},
		{&errcode.Error{Code: errcode.UpstreamBusy, Message: "busy", UpstreamRequestID: "NWU3"}, "r2",
			`{"error":{"code":"upstream_unavailable","message":"busy","requestId":"r2","upstreamRequestId":"NWU3"}}`},
		{errors.New("cause with a secret"), "", `{"error":{"code":"internal","message":"internal error","requestId":""}}`},
	} {
		if got := string(ErrorJSON(tt.err, tt.rid)); got != tt.want {
			t.Errorf("got  %s\nwant %s", got, tt.want)
		}
	}
}
