package scf

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// CosEvent is the COS trigger's event, as Tencent documents it: each record names the
// object as "/<appid>/<bucket name>/<key>".
type CosEvent struct {
	Records []struct {
		Cos *struct {
			CosObject struct {
				Key  string `json:"key"`
				Size int64  `json:"size"`
				URL  string `json:"url"`
			} `json:"cosObject"`
			CosBucket struct {
				Name   string `json:"name"`
				AppID  string `json:"appid"`
				Region string `json:"region"`
			} `json:"cosBucket"`
		} `json:"cos"`
		Event struct {
			EventName string `json:"eventName"`
		} `json:"event"`
	} `json:"Records"`
}

// ObjectFunc handles one object storage created; an error asks for the event again.
type ObjectFunc func(ctx context.Context, key string) error

// ErrNotCOS means the payload is not a COS trigger event.
var ErrNotCOS = errors.New("scf: the event is not a COS trigger event")

// ObjectHandler runs every created object of a COS trigger event through f. Any failure
// fails the invocation, so SCF's asynchronous retries deliver the event again (f is
// idempotent: the same object gives the same outcome and event id). Other COS events
// (removals, restores) are acknowledged untouched.
func ObjectHandler(f ObjectFunc) Handler {
	return func(ctx context.Context, payload []byte) ([]byte, error) {
		var ev CosEvent
		if err := json.Unmarshal(payload, &ev); err != nil || len(ev.Records) == 0 {
			return nil, ErrNotCOS
		}
		var failed []string
		done := 0
		for _, r := range ev.Records {
			if r.Cos == nil {
				return nil, ErrNotCOS
			}
			if !strings.HasPrefix(r.Event.EventName, "cos:ObjectCreated:") {
				continue
			}
			o, b := r.Cos.CosObject, r.Cos.CosBucket
			key, ok := strings.CutPrefix(o.Key, "/"+b.AppID+"/"+b.Name+"/")
			if !ok || key == "" {
				return nil, fmt.Errorf("%w: object %q is not under /%s/%s/", ErrNotCOS, o.Key, b.AppID, b.Name)
			}
			if err := f(ctx, key); err != nil {
				failed = append(failed, key+": "+err.Error())
				continue
			}
			done++
		}
		if len(failed) > 0 {
			return nil, fmt.Errorf("scf: %d objects must be retried: %s", len(failed), strings.Join(failed, "; "))
		}
		return json.Marshal(map[string]int{"processed": done})
	}
}
