package demo

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/fstest"
)

// TestServeFileRevalidates: a file comes with an ETag of its content and is answered 304,
// with no body, when the browser already has those bytes; other bytes get another ETag.
func TestServeFileRevalidates(t *testing.T) {
	site := fstest.MapFS{"static/veilsign.wasm": {Data: []byte("\x00asm module bytes")}}
	get := func(inm string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/static/veilsign.wasm", nil)
		if inm != "" {
			r.Header.Set("If-None-Match", inm)
		}
		w := httptest.NewRecorder()
		if !serveFile(w, r, site, "static/veilsign.wasm") {
			t.Fatal("the file was not found")
		}
		return w
	}
	first := get("")
	tag := first.Header().Get("ETag")
	if first.Code != http.StatusOK || first.Body.String() != "\x00asm module bytes" || tag == "" {
		t.Fatalf("first load: %d, %q, ETag %q", first.Code, first.Body.String(), tag)
	}
	if ct, cc := first.Header().Get("Content-Type"), first.Header().Get("Cache-Control"); ct != "application/wasm" || cc != "no-cache" {
		t.Fatalf("Content-Type %q, Cache-Control %q", ct, cc)
	}
	again := get(tag)
	if again.Code != http.StatusNotModified || again.Body.Len() != 0 {
		t.Fatalf("revalidation: %d with %d bytes", again.Code, again.Body.Len())
	}
	site["static/veilsign.wasm"] = &fstest.MapFile{Data: []byte("\x00asm other bytes")}
	changed := get(tag)
	if changed.Code != http.StatusOK || changed.Header().Get("ETag") == tag {
		t.Fatalf("changed file: %d, ETag %q (was %q)", changed.Code, changed.Header().Get("ETag"), tag)
	}
	if serveFile(httptest.NewRecorder(), httptest.NewRequest("GET", "/static/none.js", nil), site, "static/none.js") {
		t.Fatal("a missing file was served")
	}
}
