//go:build js && wasm

// Command wasm is veilsign's core compiled to WebAssembly for the browser package (js/).
// It holds bindings only: JavaScript values in, pdfcore calls, JavaScript values out. The
// functions are installed on globalThis.__veilsign; js/src/worker.ts is their one caller
// and documents them in its CoreBindings type.
package main

import (
	"sync/atomic"
	"syscall/js"
	"time"

	"github.com/veilsign/veilsign/pdfcore"
)

// globalName is where the bindings appear; the worker waits for it after go.run.
const globalName = "__veilsign"

func main() {
	api := js.Global().Get("Object").New()
	api.Set("version", pdfcore.Version)
	api.Set("open", js.FuncOf(openDocument))
	api.Set("preflight", js.FuncOf(preflight))
	api.Set("prepare", js.FuncOf(prepare))
	api.Set("digest", js.FuncOf(digest))
	api.Set("embed", js.FuncOf(embed))
	api.Set("verify", js.FuncOf(verify))
	api.Set("certificateChains", js.FuncOf(certificateChains))
	api.Set("addValidationData", js.FuncOf(addValidationData))
	api.Set("prepareDocTimestamp", js.FuncOf(prepareDocTimestamp))
	api.Set("release", js.FuncOf(release))
	js.Global().Set(globalName, api)
	go warmUp()

	// The functions stay callable only while main runs; the worker owns the instance for
	// its whole life, so main never returns.
	select {}
}

// warmDelay is how long the core waits, idle, before it warms up: long enough for the
// worker to finish loading and answer the page, short next to the time a page takes to
// hand over a document and identify its signer.
const warmDelay = 50 * time.Millisecond

// prepareCalled is set by the first prepare, which makes the warm-up pointless.
var prepareCalled atomic.Bool

// warmUp runs pdfcore.Warm once the core has been idle for warmDelay. The first prepare of
// a page otherwise pays for the engine compiling every function it runs on first call
// (90-160 ms in Chromium against 5 ms for the next one); afterwards it finds them compiled.
// The wait comes first so that go.run returns and the worker answers init at once. Go in
// WASM runs on the worker's one thread, so a call that arrives during the warm-up waits for
// it, and the warm-up itself waits behind any call already running; the ~100 ms it takes
// on a fresh page is spent, when the page is quick, by the open that follows.
func warmUp() {
	time.Sleep(warmDelay)
	if prepareCalled.Load() {
		// A prepare came first (a core started again to resume a signature, js/src/index.ts
		// prepareFreed, goes straight to open and prepare): it compiles what it runs, and
		// a warm-up now would only hold it up, sharing the worker's one thread.
		return
	}
	_ = pdfcore.Warm() // a failure only means the first signature is not sped up
	// The conversions of the bindings' first prepare (plan in, layout out).
	_, _ = planArg(js.ValueOf(`{"signers":[{"label":"A","name":"W","method":"x509","field":{"page":1,"rect":{"llx":0,"lly":0,"urx":1,"ury":1}}}]}`))
	_, _ = fromGo(pdfcore.Layout{})
}
