package scf

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// QueueEvent is a CMQ (queue or topic) or CKafka trigger event.
type QueueEvent struct {
	Records []struct {
		CMQ *struct {
			Type      string `json:"type"`
			TopicName string `json:"topicName"`
			MsgID     string `json:"msgId"`
			RequestID string `json:"requestId"`
			MsgBody   string `json:"msgBody"`
			// msgTag is "a, b" or ["a","b"]: kept raw, unused.
			MsgTag json.RawMessage `json:"msgTag"`
		} `json:"CMQ,omitempty"`
		Ckafka *struct {
			Topic     string `json:"topic"`
			Partition int64  `json:"partition"`
			Offset    int64  `json:"offset"`
			MsgKey    string `json:"msgKey"`
			MsgBody   string `json:"msgBody"`
		} `json:"Ckafka,omitempty"`
	} `json:"Records"`
}

// MessageFunc processes one message body; id is the platform's message id. It reports
// whether the message must be delivered again.
type MessageFunc func(ctx context.Context, body []byte, id string) (retry bool)

// ErrNotQueue means the payload is not a CMQ or CKafka event.
var ErrNotQueue = errors.New("scf: the event is not a CMQ or CKafka event")

// QueueHandler runs every record of a queue event through f. SCF triggers cannot retry
// single records: when any record must be retried the invocation fails (naming them) so
// the trigger redelivers the batch, and the records that succeeded answer their
// redelivery from their idempotency markers. Records refused for good never fail it.
func QueueHandler(f MessageFunc) Handler {
	return func(ctx context.Context, payload []byte) ([]byte, error) {
		var ev QueueEvent
		if err := json.Unmarshal(payload, &ev); err != nil || len(ev.Records) == 0 {
			return nil, ErrNotQueue
		}
		var retry []string
		for _, r := range ev.Records {
			var body, id string
			switch {
			case r.CMQ != nil:
				body, id = r.CMQ.MsgBody, "cmq:"+r.CMQ.TopicName+":"+r.CMQ.MsgID
			case r.Ckafka != nil:
				body = r.Ckafka.MsgBody
				id = "ckafka:" + r.Ckafka.Topic + ":" + strconv.FormatInt(r.Ckafka.Partition, 10) + ":" + strconv.FormatInt(r.Ckafka.Offset, 10)
			default:
				return nil, ErrNotQueue
			}
			if f(ctx, []byte(body), id) {
				retry = append(retry, id)
			}
		}
		if len(retry) > 0 {
			return nil, fmt.Errorf("scf: %d of %d messages must be retried: %s", len(retry), len(ev.Records), strings.Join(retry, ", "))
		}
		return json.Marshal(map[string]int{"processed": len(ev.Records)})
	}
}
