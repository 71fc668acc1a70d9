package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/veilsign/veilsign/pdfcore"
	"github.com/veilsign/veilsign/relay/client"
	"github.com/veilsign/veilsign/relay/internal/ltv"
	"github.com/veilsign/veilsign/relay/protocol"
)

// signViaRelay runs the whole flow through a relay, with the same protocol code the browser
// uses: identify, prepare locally, send only the digest, check and embed the CMS.
func signViaRelay(ctx context.Context, f signFlags, doc *pdfcore.Document, data []byte, plan *pdfcore.Plan, label string, signer *pdfcore.Signer, opts pdfcore.Options, stdout, stderr io.Writer) ([]byte, *pdfcore.Prepared, string, error) {
	base, wsURL, err := relayURLs(f.relay)
	if err != nil {
		return nil, nil, "", err
	}
	tok := f.token
	var demo *demoPhone
	if f.demoFlow {
		demo = &demoPhone{base: base, http: &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
		if tok == "" {
			if tok, err = demo.token(ctx, signer.Name); err != nil {
				return nil, nil, "", err
			}
		}
	}
	if tok == "" {
		return nil, nil, "", usage("--token is required (or --demo against relay serve --demo)")
	}
	opened := map[string]bool{}
	c := &client.Client{URL: wsURL, Token: tok}
	c.OnStatus = func(st protocol.Status) {
		fmt.Fprintf(stderr, "relay: %s %s\n", st.State, st.Message)
		if st.URL == "" || opened[st.URL] {
			return
		}
		opened[st.URL] = true // a resumed session repeats its last status
		if demo != nil {
			go func() {
				if err := demo.approve(st.URL); err != nil {
					fmt.Fprintln(stderr, "demo phone:", err)
				}
			}()
			return
		}
		fmt.Fprintf(stderr, "Open this page to approve: %s\n", st.URL)
	}
	c.OTP = func(ctx context.Context) (string, error) {
		if demo != nil {
			return demo.code(ctx, f.phone)
		}
		fmt.Fprint(stderr, "Code received by SMS: ")
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		return strings.TrimSpace(line), err
	}
	if err := c.Dial(ctx); err != nil {
		return nil, nil, "", err
	}
	defer c.Close()
	chain, err := c.Identify(ctx, string(signer.Method), protocol.Signer{Name: signer.Name, Email: signer.Email, Capacity: signer.Capacity, Phone: f.phone})
	if err != nil {
		return nil, nil, "", err
	}
	p, err := pdfcore.Prepare(doc, plan, label, chain, opts)
	if err != nil {
		return nil, nil, "", err
	}
	hashName := map[string]string{"SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}[p.Hash.String()]
	relayLevel := "B-T"
	if f.level == "B-B" {
		relayLevel = "B-B"
	}
	cms, level, err := c.Sign(ctx, p.Digest, hashName, docLabel(f.in), relayLevel)
	if err != nil {
		return nil, nil, "", err
	}
	update, err := pdfcore.EmbedUpdate(p, cms)
	if err != nil {
		return nil, nil, "", err
	}
	if f.level == "B-LT" || f.level == "B-LTA" {
		// The DSS and the document time-stamp, with data the relay fetches (it sees the
		// certificates and a digest, never the document).
		more, err := ltv.Extend(ctx, append(append([]byte(nil), data...), update...), f.level, ltv.Relay{C: c}, ltv.Options{Hash: opts.Hash, Warn: warnTo(stderr)})
		if err != nil {
			return nil, nil, "", err
		}
		update, level = append(update, more...), f.level
	}
	return update, p, level, nil
}

// dialRelay opens a session with the relay at raw (ws:// or http://…), taking a demo token
// when demoFlow is set and tok is empty.
func dialRelay(ctx context.Context, raw, tok, signer string, demoFlow bool) (*client.Client, error) {
	base, wsURL, err := relayURLs(raw)
	if err != nil {
		return nil, err
	}
	if tok == "" && demoFlow {
		demo := &demoPhone{base: base, http: &http.Client{Timeout: 30 * time.Second}}
		if tok, err = demo.token(ctx, signer); err != nil {
			return nil, err
		}
	}
	if tok == "" {
		return nil, usage("--token is required (or --demo against relay serve --demo)")
	}
	c := &client.Client{URL: wsURL, Token: tok}
	if err := c.Dial(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

func relayURLs(raw string) (base, ws string, err error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", "", usage("--relay must be a URL such as ws://127.0.0.1:8080")
	}
	switch u.Scheme {
	case "ws", "http":
		u.Scheme = "http"
	case "wss", "https":
		u.Scheme = "https"
	default:
		return "", "", usage("--relay must be ws://, wss://, http:// or https://")
	}
	u.Path = ""
	base = u.String()
	return base, "ws" + strings.TrimPrefix(base, "http") + "/v1/sign", nil
}

// docLabel is what the signer sees in the itsme app: the file name, not its content.
func docLabel(path string) string {
	name := path[strings.LastIndexAny(path, `/\`)+1:]
	if len(name) > 80 {
		name = name[:80]
	}
	return name
}

// demoPhone plays the signer against relay serve --demo: it takes a demo token, approves
// itsme requests in the simulator's app with the dev PIN and reads TAN codes from the
// dev outbox, so scripts can run the whole flow unattended.
type demoPhone struct {
	base string
	http *http.Client
}

func (d *demoPhone) get(ctx context.Context, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	return d.http.Do(req)
}

func (d *demoPhone) token(ctx context.Context, signer string) (string, error) {
	resp, err := d.get(ctx, d.base+"/demo/token?signer="+url.QueryEscape(strings.ReplaceAll(strings.ToLower(signer), " ", ".")))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("demo token: %s (is the relay running with --demo?)", resp.Status)
	}
	return strings.TrimSpace(string(b)), nil
}

// approve opens the authorise URL as the signer's browser, approves on the simulated
// phone, and follows the redirect back to the relay's callback.
func (d *demoPhone) approve(authURL string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	resp, err := d.get(ctx, authURL)
	if err != nil {
		return err
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode == http.StatusOK {
		id, wait := resp.Header.Get("X-Itsmesim-Request"), resp.Header.Get("X-Itsmesim-Wait")
		body, _ := json.Marshal(map[string]any{"id": id, "pin": "12345", "consent": true})
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, d.base+"/itsme/app/approve", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		ar, err := d.http.Do(req)
		if err != nil {
			return err
		}
		ar.Body.Close()
		if ar.StatusCode != http.StatusOK {
			return fmt.Errorf("approve: %s", ar.Status)
		}
		for i := 0; i < 10 && loc == ""; i++ {
			wr, err := d.get(ctx, d.base+"/itsme"+wait)
			if err != nil {
				return err
			}
			wr.Body.Close()
			loc = wr.Header.Get("Location")
		}
	}
	if loc == "" {
		return fmt.Errorf("the simulator never redirected back")
	}
	cb, err := d.get(ctx, loc)
	if err != nil {
		return err
	}
	cb.Body.Close()
	return nil
}

var otpRE = regexp.MustCompile(`: (\d{6}) `)

// code waits for the newest code sent to phone in the dev outbox.
func (d *demoPhone) code(ctx context.Context, phone string) (string, error) {
	for i := 0; i < 50; i++ {
		resp, err := d.get(ctx, d.base+"/dev/outbox?phone="+url.QueryEscape(phone))
		if err != nil {
			return "", err
		}
		var msgs []struct{ Text string }
		json.NewDecoder(resp.Body).Decode(&msgs)
		resp.Body.Close()
		if n := len(msgs); n > 0 {
			if m := otpRE.FindStringSubmatch(msgs[n-1].Text); m != nil {
				return m[1], nil
			}
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return "", fmt.Errorf("no code arrived in the demo outbox for %s", phone)
}
