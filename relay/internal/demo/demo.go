// Package demo serves the demo portal (js/demo, built with the npm package into site/)
// on the relay started with `relay serve --demo`.
//
// The files are embedded: `cd js && npm run build:demo` writes them into site/ (ignored by
// git), and the next `go build ./relay` carries them. Without that build the page at "/"
// says how to make it, and the relay works as before.
//
// Only a few exact paths are claimed, so the relay's own routes (/v1/…, /healthz,
// /metrics, /itsme/, /tsa, /dev/outbox, /demo/token) are untouched:
//
//	GET /                 index.html
//	GET /sw.js            the service worker (scope "/")
//	GET /static/…         the app, the package (veilsign.js, worker, wasm) and pdf.js
//	GET /demo/roots.pem   the dev CA, so the page can judge trust when it verifies
//	GET /demo/eid         whether the demo eID card is there (and if not, why)
package demo

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed all:site
var embedded embed.FS

// placeholder is served at "/" when the JavaScript was not built into site/.
const placeholder = `<!doctype html><html lang="en"><meta charset="utf-8"><title>veilsign demo</title>
<body style="font-family:sans-serif;max-width:40em;margin:2em auto">
<h1>veilsign demo: not built</h1>
<p>The demo page is built with the npm package: run <code>make demo</code>
(or <code>cd js &amp;&amp; npm ci &amp;&amp; npm run build &amp;&amp; npm run build:demo</code>, then rebuild the relay).</p>
<p>run make wasm</p></body></html>`

// contentTypes are set explicitly: the wasm must be application/wasm to compile while it
// downloads, and .mjs must be JavaScript whatever the host's mime tables say.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".mjs":  "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".wasm": "application/wasm",
	".json": "application/json",
	".map":  "application/json",
	".svg":  "image/svg+xml",
	".pem":  "application/x-pem-file",
}

// Mount adds the demo portal to mux. rootPEM is the dev CA's certificate.
func Mount(mux *http.ServeMux, rootPEM []byte) {
	site, _ := fs.Sub(embedded, "site")
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		if !serveFile(w, r, site, "index.html") {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-cache")
			w.Write([]byte(placeholder))
		}
	})
	mux.HandleFunc("GET /sw.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Service-Worker-Allowed", "/")
		if !serveFile(w, r, site, "sw.js") {
			http.NotFound(w, r)
		}
	})
	mux.HandleFunc("GET /static/", func(w http.ResponseWriter, r *http.Request) {
		name := path.Clean(strings.TrimPrefix(r.URL.Path, "/"))
		if strings.Contains(name, "..") || !serveFile(w, r, site, name) {
			http.NotFound(w, r)
		}
	})
	mux.HandleFunc("GET /demo/roots.pem", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentTypes[".pem"])
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(rootPEM)
	})
}

// serveFile writes one embedded file; false when it does not exist. The app's files are
// revalidated on every load (the service worker keeps the offline copy), against an ETag
// of their content: a reload, or the package compiling the module again after a large
// document's signature, gets 304 instead of the 9.6 MB module once more.
func serveFile(w http.ResponseWriter, r *http.Request, site fs.FS, name string) bool {
	data, err := fs.ReadFile(site, name)
	if err != nil {
		return false
	}
	ct := contentTypes[path.Ext(name)]
	if ct == "" {
		ct = "application/octet-stream"
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", etag(data))
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
	return true
}

// etag names a file's content (the files are embedded: the same name may hold other bytes
// after the relay is rebuilt).
func etag(data []byte) string {
	sum := sha256.Sum256(data)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}

// CardStatus is what GET /demo/eid answers: the page offers eID only when Available, and
// otherwise shows Reason.
type CardStatus struct {
	Available bool   `json:"available"`
	Reason    string `json:"reason,omitempty"`
	Holder    string `json:"holder,omitempty"`
	PIN       string `json:"pin,omitempty"`
}

// MountCard serves GET /demo/eid: the demo eID card of holder with its pin, or why there
// is none (cardErr).
func MountCard(mux *http.ServeMux, cardErr error, holder, pin string) {
	st := CardStatus{Available: cardErr == nil, Holder: holder, PIN: pin}
	if cardErr != nil {
		st = CardStatus{Reason: cardErr.Error()}
	}
	body, _ := json.Marshal(st)
	mux.HandleFunc("GET /demo/eid", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentTypes[".json"])
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(body)
	})
}
