//go:build js && wasm

// Command wasm is veilsign's core compiled to WebAssembly for the browser package (js/).
// It holds bindings only: JavaScript values in, pdfcore calls, JavaScript values out. The
// functions are installed on globalThis.__veilsign; js/src/worker.ts is their one caller
// and documents them in its CoreBindings type.
package main

import (
	"syscall/js"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/veilsign/veilsign/pdfcore"
)

// globalName is where the bindings appear; the worker waits for it after go.run.
const globalName = "__veilsign"

func main() {
	// pdfcpu would otherwise look for (and try to create) a configuration directory, which
	// a browser does not have: every call would fail or touch a fake file system.
	model.ConfigPath = "disable"

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

	// The functions stay callable only while main runs; the worker owns the instance for
	// its whole life, so main never returns.
	select {}
}
