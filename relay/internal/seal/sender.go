package seal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// Sender delivers a TAN code to a phone.
type Sender interface {
	Send(ctx context.Context, phone, text string) error
}

// Message is one text sent.
type Message struct {
	Phone string    `json:"phone"`
	Text  string    `json:"text"`
	Time  time.Time `json:"time"`
}

// Outbox is the development sender: it keeps the messages so the demo page and tests can
// read them (GET /dev/outbox?phone=…). It is never used outside --demo.
type Outbox struct {
	mu   sync.Mutex
	msgs []Message
}

func (o *Outbox) Send(ctx context.Context, phone, text string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.msgs = append(o.msgs, Message{Phone: phone, Text: text, Time: time.Now().UTC()})
	if len(o.msgs) > 1000 { // a demo outbox, bounded
		o.msgs = o.msgs[len(o.msgs)-1000:]
	}
	return nil
}

// Messages returns the messages sent to phone, oldest first.
func (o *Outbox) Messages(phone string) []Message {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []Message
	for _, m := range o.msgs {
		if phone == "" || m.Phone == phone {
			out = append(out, m)
		}
	}
	return out
}

// Handler serves the outbox as JSON.
func (o *Outbox) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(o.Messages(r.URL.Query().Get("phone")))
	})
}

// HTTPSender posts {"to", "text"} as JSON to an SMS gateway with a bearer token.
type HTTPSender struct {
	URL    string
	Token  string
	Client *http.Client
}

func (h *HTTPSender) Send(ctx context.Context, phone, text string) error {
	body, _ := json.Marshal(map[string]string{"to": phone, "text": text})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if h.Token != "" {
		req.Header.Set("Authorization", "Bearer "+h.Token)
	}
	c := h.Client
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("SMS gateway answered %s", resp.Status)
	}
	return nil
}
