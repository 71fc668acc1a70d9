//go:build js && wasm

package main

import (
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"sync"
	"syscall/js"

	"github.com/veilsign/veilsign/pdfcore"
	"github.com/veilsign/veilsign/wasm/internal/plain"
)

// Codes the bindings add to pdfcore's: a call with arguments of the wrong shape, and a
// failure that is a bug (a panic) rather than a property of the document.
const (
	codeBadArgument = "bad-argument"
	codeInternal    = "internal"
)

// argError is a call with arguments the bindings cannot use.
type argError struct{ msg string }

func (e *argError) Error() string { return e.msg }

func badArg(format string, args ...any) error {
	return &argError{msg: fmt.Sprintf(format, args...)}
}

// jsError turns a Go error into a JavaScript Error whose code property is the stable
// pdfcore code, so that pages branch on error.code and never on the wording.
func jsError(err error) js.Value {
	code, msg := codeInternal, err.Error()
	var pe *pdfcore.Error
	var ae *argError
	switch {
	case errors.As(err, &pe):
		code, msg = string(pe.Code), pe.Msg
	case errors.As(err, &ae):
		code = codeBadArgument
	}
	e := js.Global().Get("Error").New(msg)
	e.Set("name", "VeilsignError")
	e.Set("code", code)
	return e
}

// promise runs work on a goroutine and settles a JavaScript promise with its result. The
// arguments must already have been read: the caller's buffers may be reused or
// transferred as soon as the binding returns.
func promise(work func() (any, error)) js.Value {
	executor := js.FuncOf(func(_ js.Value, args []js.Value) any {
		resolve, reject := args[0], args[1]
		go func() {
			v, err := guarded(work)
			if err != nil {
				reject.Invoke(jsError(err))
				return
			}
			resolve.Invoke(v)
		}()
		return nil
	})
	// The executor runs synchronously inside the constructor, so it can go right after.
	p := js.Global().Get("Promise").New(executor)
	executor.Release()
	return p
}

// rejected is a promise that already failed, so that every binding returns a promise
// whatever went wrong.
func rejected(err error) js.Value {
	return js.Global().Get("Promise").Call("reject", jsError(err))
}

// guarded turns a panic into an error: one bad document must not kill the instance that
// serves every later call.
func guarded(work func() (any, error)) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("veilsign core failed unexpectedly: %v\n%s", r, debug.Stack())
		}
	}()
	return work()
}

// fromGo converts a result of pdfcore to a plain JavaScript object named by the `json` tags
// of its type, so those tags are the one schema on both sides. It crosses as JSON text
// (package plain), which JavaScript's JSON.parse builds in one call: an object built from
// Go holds a Go finalizer per nested value.
func fromGo(v any) (js.Value, error) {
	text, err := plain.Marshal(v)
	if err != nil {
		return js.Undefined(), err
	}
	return js.Global().Get("JSON").Call("parse", string(text)), nil
}

// bytesArg copies a Uint8Array argument into Go memory.
func bytesArg(v js.Value, what string) ([]byte, error) {
	if !isUint8Array(v) {
		return nil, badArg("%s must be a Uint8Array", what)
	}
	b := make([]byte, v.Get("byteLength").Int())
	js.CopyBytesToGo(b, v)
	return b, nil
}

func isUint8Array(v js.Value) bool {
	return v.Type() == js.TypeObject && v.InstanceOf(js.Global().Get("Uint8Array"))
}

// jsBytes reads a JavaScript Uint8Array as an io.ReaderAt, copying only what is asked for.
type jsBytes struct {
	v js.Value
	n int64
}

func (r jsBytes) ReadAt(p []byte, off int64) (n int, err error) {
	if off < 0 || off >= r.n {
		return 0, io.EOF
	}
	defer func() {
		// A detached buffer (transferred away while a handle was still open) throws.
		if e := recover(); e != nil {
			n, err = 0, fmt.Errorf("the document's buffer can no longer be read: %v", e)
		}
	}()
	end := min(off+int64(len(p)), r.n)
	n = js.CopyBytesToGo(p, r.v.Call("subarray", float64(off), float64(end)))
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// toJSBytes copies a Go slice into a new Uint8Array.
func toJSBytes(b []byte) js.Value {
	u := js.Global().Get("Uint8Array").New(len(b))
	js.CopyBytesToJS(u, b)
	return u
}

func stringArg(v js.Value) string {
	if v.Type() == js.TypeString {
		return v.String()
	}
	return ""
}

func intArg(v js.Value, what string) (int, error) {
	if v.Type() != js.TypeNumber {
		return 0, badArg("%s must be a number", what)
	}
	return v.Int(), nil
}

// planArg reads a plan given as a JSON string (the page serialises it with JSON.stringify,
// which keeps the field names of pdfcore.Plan); JavaScript's JSON.parse reads it.
func planArg(v js.Value) (*pdfcore.Plan, error) {
	if v.IsUndefined() || v.IsNull() {
		return nil, nil
	}
	if v.Type() != js.TypeString {
		return nil, badArg("the plan must be passed as a JSON string")
	}
	tree, err := parseJSON(v.String())
	if err != nil {
		return nil, badArg("the plan is not valid JSON: %v", err)
	}
	var p pdfcore.Plan
	if err := plain.Into(&p, tree); err != nil {
		return nil, badArg("the plan is not {signers: [...]} as expected: %v", err)
	}
	return &p, nil
}

// parseJSON parses text with JavaScript's JSON.parse and reads the result as a plain value.
func parseJSON(text string) (tree any, err error) {
	defer func() {
		if r := recover(); r != nil { // JSON.parse throws a SyntaxError
			err = fmt.Errorf("%v", r)
		}
	}()
	return fromJS(js.Global().Get("JSON").Call("parse", text)), nil
}

// fromJS reads a value of JSON.parse's making as the plain value package plain takes.
func fromJS(v js.Value) any {
	switch v.Type() {
	case js.TypeString:
		return v.String()
	case js.TypeNumber:
		return v.Float()
	case js.TypeBoolean:
		return v.Bool()
	case js.TypeObject:
		if js.Global().Get("Array").Call("isArray", v).Bool() {
			out := make([]any, v.Length())
			for i := range out {
				out[i] = fromJS(v.Index(i))
			}
			return out
		}
		keys := js.Global().Get("Object").Call("keys", v)
		out := make(map[string]any, keys.Length())
		for i := 0; i < keys.Length(); i++ {
			k := keys.Index(i).String()
			out[k] = fromJS(v.Get(k))
		}
		return out
	}
	return nil // null
}

// handles maps the small integers JavaScript holds to Go objects; JavaScript frees them
// with release. Goroutines of pending promises read it, hence the lock.
type handles struct {
	mu   sync.Mutex
	next int
	m    map[int]any
}

var table = handles{m: map[int]any{}}

func (h *handles) add(v any) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.next++
	h.m[h.next] = v
	return h.next
}

func (h *handles) get(v js.Value) (any, bool) {
	if v.Type() != js.TypeNumber {
		return nil, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	o, ok := h.m[v.Int()]
	return o, ok
}

func (h *handles) drop(id int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.m, id)
}

func documentArg(v js.Value) (*pdfcore.Document, error) {
	o, ok := table.get(v)
	if d, isDoc := o.(*pdfcore.Document); ok && isDoc {
		return d, nil
	}
	return nil, badArg("the document handle is not open (was it released?)")
}

func preparedArg(v js.Value) (*pdfcore.Prepared, error) {
	o, ok := table.get(v)
	if p, isPrep := o.(*pdfcore.Prepared); ok && isPrep {
		return p, nil
	}
	return nil, badArg("the prepared-signature handle is not valid (was it released?)")
}
