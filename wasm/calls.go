//go:build js && wasm

package main

import (
	"crypto"
	"crypto/x509"
	"syscall/js"
	"time"

	"github.com/veilsign/veilsign/pdfcore"
)

// info is what open answers about a document: enough for a page to show its fields and
// decide whether it can be signed, without another call.
type info struct {
	Pages   int                      `json:"pages"`
	Version string                   `json:"version"`
	Fields  []pdfcore.SignatureField `json:"fields"`
	Signed  bool                     `json:"signed"`
	MDP     int                      `json:"mdp"`
	Size    int                      `json:"size"`
}

// openDocument(bytes: Uint8Array) → Promise<{handle, info}>. The document is not copied
// into Go memory: pdfcore reads the pages of it that it parses, from the caller's array,
// when it needs them (DESIGN.md, "Reading"). The array must stay as it is until the handle
// is released; the worker, which owns it, releases the handle before it hands the buffer on.
func openDocument(_ js.Value, args []js.Value) any {
	if len(args) < 1 {
		return rejected(badArg("open(bytes) needs the document's bytes"))
	}
	if !isUint8Array(args[0]) {
		return rejected(badArg("the document must be a Uint8Array"))
	}
	src := jsBytes{v: args[0], n: int64(args[0].Get("byteLength").Int())}
	return promise(func() (any, error) {
		doc, err := pdfcore.OpenReaderAt(src, src.n)
		if err != nil {
			return nil, err
		}
		fields := doc.Fields
		if fields == nil {
			fields = []pdfcore.SignatureField{} // [] rather than null for the page
		}
		v, err := fromGo(info{Pages: doc.Pages, Version: doc.Version, Fields: fields, Signed: doc.Signed(), MDP: doc.MDP, Size: int(doc.Size())})
		if err != nil {
			return nil, err
		}
		out := js.Global().Get("Object").New()
		out.Set("handle", table.add(doc))
		out.Set("info", v)
		return out, nil
	})
}

// preflight(handle, planJSON, label) → Promise<{kind, reason}>.
func preflight(_ js.Value, args []js.Value) any {
	if len(args) < 3 {
		return rejected(badArg("preflight(handle, plan, label) needs three arguments"))
	}
	doc, err := documentArg(args[0])
	if err != nil {
		return rejected(err)
	}
	plan, err := planArg(args[1])
	if err != nil {
		return rejected(err)
	}
	label := stringArg(args[2])
	return promise(func() (any, error) {
		l, err := pdfcore.Preflight(doc, plan, label)
		if err != nil {
			return nil, err
		}
		return fromGo(l)
	})
}

// prepare(handle, planJSON, label, chain: Uint8Array[], options) → Promise<prepared>.
// Unless options.goDigest is set the digest is left to the caller (WebCrypto in the
// worker), so the whole file is hashed exactly once.
func prepare(_ js.Value, args []js.Value) any {
	prepareCalled.Store(true)
	if len(args) < 5 {
		return rejected(badArg("prepare(handle, plan, label, chain, options) needs five arguments"))
	}
	doc, err := documentArg(args[0])
	if err != nil {
		return rejected(err)
	}
	plan, err := planArg(args[1])
	if err != nil {
		return rejected(err)
	}
	label := stringArg(args[2])
	chain, err := chainArg(args[3])
	if err != nil {
		return rejected(err)
	}
	opts, err := optionsArg(args[4])
	if err != nil {
		return rejected(err)
	}
	return promise(func() (any, error) {
		p, err := pdfcore.Prepare(doc, plan, label, chain, opts)
		if err != nil {
			return nil, err
		}
		return preparedValue(doc, p)
	})
}

// preparedValue describes a prepared signature to the page. gapStart and gapEnd locate
// the /Contents placeholder inside update ('<' to just after '>'); the signed bytes are
// the document, update[:gapStart] and update[gapEnd:].
func preparedValue(doc *pdfcore.Document, p *pdfcore.Prepared) (any, error) {
	layout, err := fromGo(p.Layout)
	if err != nil {
		return nil, err
	}
	base := doc.Size()
	out := js.Global().Get("Object").New()
	out.Set("prepared", table.add(p))
	out.Set("update", toJSBytes(p.Update))
	br := js.Global().Get("Array").New()
	for _, n := range p.ByteRange {
		br.Call("push", float64(n)) // exact: file offsets stay far below 2^53
	}
	out.Set("byteRange", br)
	out.Set("gapStart", float64(p.ByteRange[1]-base))
	out.Set("gapEnd", float64(p.ByteRange[2]-base))
	out.Set("field", p.Field)
	out.Set("label", p.Label)
	out.Set("layout", layout)
	out.Set("hash", hashNames[p.Hash])
	out.Set("reserved", p.Reserved())
	if p.Digest != nil {
		out.Set("digest", toJSBytes(p.Digest))
	}
	return out, nil
}

// digest(prepared, onProgress?) → Promise<Uint8Array>: the Go hash of the signed ranges,
// for pages without WebCrypto (plain-HTTP origins) or whose buffer had no room to join
// the ranges. onProgress(bytesHashed, total) is called every few megabytes.
func digest(_ js.Value, args []js.Value) any {
	if len(args) < 1 {
		return rejected(badArg("digest(prepared) needs a prepared-signature handle"))
	}
	p, err := preparedArg(args[0])
	if err != nil {
		return rejected(err)
	}
	var progress js.Value
	if len(args) > 1 && args[1].Type() == js.TypeFunction {
		progress = args[1]
	}
	return promise(func() (any, error) {
		var report func(done, total int64)
		if !progress.IsUndefined() {
			report = func(done, total int64) { progress.Invoke(float64(done), float64(total)) }
		}
		d, err := p.ComputeDigest(report)
		if err != nil {
			return nil, err
		}
		p.Digest = d // Check compares the CMS with this one; it is not computed again
		return toJSBytes(d), nil
	})
}

// embed(prepared, cms: Uint8Array, digest?: Uint8Array) → Promise<Uint8Array>: the signed
// update, after pdfcore has checked that the CMS fits, signs digest (the one the page
// computed and sent to the relay) and was made with the certificate prepared for.
func embed(_ js.Value, args []js.Value) any {
	if len(args) < 2 {
		return rejected(badArg("embed(prepared, cms, digest) needs the prepared handle and the CMS"))
	}
	p, err := preparedArg(args[0])
	if err != nil {
		return rejected(err)
	}
	der, err := bytesArg(args[1], "the CMS")
	if err != nil {
		return rejected(err)
	}
	if len(args) > 2 && !args[2].IsUndefined() && !args[2].IsNull() {
		d, err := bytesArg(args[2], "the digest")
		if err != nil {
			return rejected(err)
		}
		if len(d) != p.Hash.Size() {
			return rejected(badArg("the digest has %d bytes; %s needs %d", len(d), p.Hash, p.Hash.Size()))
		}
		p.Digest = d
	}
	return promise(func() (any, error) {
		update, err := pdfcore.EmbedUpdate(p, der)
		if err != nil {
			return nil, err
		}
		return toJSBytes(update), nil
	})
}

// verify(bytes | handle, rootsPEM?) → Promise<report>. Neither form copies the document
// into Go memory: an open document is verified as it is, and bytes are opened over the
// caller's array, which must stay as it is until the promise settles. The file is hashed
// in chunks read from it.
func verify(_ js.Value, args []js.Value) any {
	if len(args) < 1 {
		return rejected(badArg("verify(bytes, roots) needs the document"))
	}
	var doc *pdfcore.Document
	var src *jsBytes
	if args[0].Type() == js.TypeNumber {
		var err error
		if doc, err = documentArg(args[0]); err != nil {
			return rejected(err)
		}
	} else {
		if !isUint8Array(args[0]) {
			return rejected(badArg("the document must be a Uint8Array"))
		}
		src = &jsBytes{v: args[0], n: int64(args[0].Get("byteLength").Int())}
	}
	var opts pdfcore.VerifyOptions
	if len(args) > 1 && args[1].Type() == js.TypeString && args[1].String() != "" {
		opts.Roots = x509.NewCertPool()
		if !opts.Roots.AppendCertsFromPEM([]byte(args[1].String())) {
			return rejected(badArg("roots holds no PEM certificate"))
		}
	}
	return promise(func() (any, error) {
		if src != nil {
			var err error
			if doc, err = pdfcore.OpenReaderAt(*src, src.n); err != nil {
				return nil, err
			}
		}
		rep, err := pdfcore.VerifyDocument(doc, opts)
		if err != nil {
			return nil, err
		}
		return fromGo(rep)
	})
}

// certificateChains(handle) → Promise<Uint8Array[][]>: the DER chains, leaf first, whose
// validation data a DSS should carry (pdfcore.CertificateChains).
func certificateChains(_ js.Value, args []js.Value) any {
	if len(args) < 1 {
		return rejected(badArg("certificateChains(handle) needs a document handle"))
	}
	doc, err := documentArg(args[0])
	if err != nil {
		return rejected(err)
	}
	return promise(func() (any, error) {
		chains, err := pdfcore.CertificateChains(doc)
		if err != nil {
			return nil, err
		}
		out := js.Global().Get("Array").New()
		for _, chain := range chains {
			c := js.Global().Get("Array").New()
			for _, cert := range chain {
				c.Call("push", toJSBytes(cert.Raw))
			}
			out.Call("push", c)
		}
		return out, nil
	})
}

// addValidationData(handle, {certs, ocsps, crls}: Uint8Array[] each) → Promise<Uint8Array
// | null>: the DSS update to append to the document (pdfcore.AddValidationData), null when
// the DSS already holds everything.
func addValidationData(_ js.Value, args []js.Value) any {
	if len(args) < 2 {
		return rejected(badArg("addValidationData(handle, data) needs a document handle and the validation data"))
	}
	doc, err := documentArg(args[0])
	if err != nil {
		return rejected(err)
	}
	if args[1].Type() != js.TypeObject {
		return rejected(badArg("the validation data must be an object {certs, ocsps, crls}"))
	}
	var vd pdfcore.ValidationData
	for _, f := range []struct {
		name string
		dst  *[][]byte
	}{{"certs", &vd.Certs}, {"ocsps", &vd.OCSPs}, {"crls", &vd.CRLs}} {
		v := args[1].Get(f.name)
		if v.IsUndefined() || v.IsNull() {
			continue
		}
		if !js.Global().Get("Array").Call("isArray", v).Bool() {
			return rejected(badArg("validation data %s must be an array of DER Uint8Arrays", f.name))
		}
		for i := 0; i < v.Length(); i++ {
			b, err := bytesArg(v.Index(i), "each item of "+f.name)
			if err != nil {
				return rejected(err)
			}
			*f.dst = append(*f.dst, b)
		}
	}
	return promise(func() (any, error) {
		update, err := pdfcore.AddValidationData(doc, vd)
		if err != nil {
			return nil, err
		}
		if update == nil {
			return js.Null(), nil
		}
		return toJSBytes(update), nil
	})
}

// prepareDocTimestamp(handle, hash?) → Promise<prepared>: a document time-stamp
// (pdfcore.PrepareDocTimestamp), described as prepare's result, with its digest (the
// message imprint for the TSA). embed takes the TSA's token.
func prepareDocTimestamp(_ js.Value, args []js.Value) any {
	if len(args) < 1 {
		return rejected(badArg("prepareDocTimestamp(handle, hash) needs a document handle"))
	}
	doc, err := documentArg(args[0])
	if err != nil {
		return rejected(err)
	}
	var opts pdfcore.TimestampOptions
	if len(args) > 1 && !args[1].IsUndefined() && !args[1].IsNull() {
		found := false
		for k, name := range hashNames {
			if args[1].Type() == js.TypeString && args[1].String() == name {
				opts.Hash, found = k, true
			}
		}
		if !found {
			return rejected(badArg("the hash must be sha256, sha384 or sha512"))
		}
	}
	return promise(func() (any, error) {
		p, err := pdfcore.PrepareDocTimestamp(doc, opts)
		if err != nil {
			return nil, err
		}
		return preparedValue(doc, p)
	})
}

// release(handle) frees a document or a prepared signature. Go's memory is not returned
// to the browser, but the space is reused by the next document.
func release(_ js.Value, args []js.Value) any {
	if len(args) > 0 && args[0].Type() == js.TypeNumber {
		table.drop(args[0].Int())
	}
	return nil
}

var hashNames = map[crypto.Hash]string{crypto.SHA256: "sha256", crypto.SHA384: "sha384", crypto.SHA512: "sha512"}

// chainArg reads the certificate chain, leaf first, as DER Uint8Arrays.
func chainArg(v js.Value) ([]*x509.Certificate, error) {
	if !js.Global().Get("Array").Call("isArray", v).Bool() || v.Length() == 0 {
		return nil, badArg("the certificate chain must be a non-empty array of DER Uint8Arrays, leaf first")
	}
	chain := make([]*x509.Certificate, v.Length())
	for i := range chain {
		der, err := bytesArg(v.Index(i), "each certificate")
		if err != nil {
			return nil, err
		}
		if chain[i], err = x509.ParseCertificate(der); err != nil {
			return nil, badArg("certificate %d of the chain cannot be parsed: %v", i+1, err)
		}
	}
	return chain, nil
}

// optionsArg reads prepare's options object into pdfcore.Options.
func optionsArg(v js.Value) (pdfcore.Options, error) {
	opts := pdfcore.Options{SkipDigest: true}
	if v.IsUndefined() || v.IsNull() {
		return opts, nil
	}
	if v.Type() != js.TypeObject {
		return opts, badArg("options must be an object")
	}
	if t := v.Get("time"); !t.IsUndefined() {
		ms, err := intArg(t, "options.time (milliseconds since 1970)")
		if err != nil {
			return opts, err
		}
		opts.Time = time.UnixMilli(int64(ms))
	}
	if h := v.Get("hash"); !h.IsUndefined() {
		found := false
		for k, name := range hashNames {
			if h.Type() == js.TypeString && h.String() == name {
				opts.Hash, found = k, true
			}
		}
		if !found {
			return opts, badArg("options.hash must be sha256, sha384 or sha512")
		}
	}
	if r := v.Get("reserve"); !r.IsUndefined() {
		n, err := intArg(r, "options.reserve")
		if err != nil {
			return opts, err
		}
		opts.Reserve = n
	}
	opts.Evidence = stringArg(v.Get("evidence"))
	opts.Reason = stringArg(v.Get("reason"))
	opts.Location = stringArg(v.Get("location"))
	opts.ContactInfo = stringArg(v.Get("contactInfo"))
	opts.SkipDigest = !v.Get("goDigest").Truthy()
	var err error
	if opts.Ink, err = inkArg(v.Get("ink")); err != nil {
		return opts, err
	}
	if logos := v.Get("logos"); logos.Type() == js.TypeObject {
		opts.Logos = map[pdfcore.Method][]byte{}
		for _, m := range []pdfcore.Method{pdfcore.MethodItsme, pdfcore.MethodEID, pdfcore.MethodX509, pdfcore.MethodPen, pdfcore.MethodTAN} {
			if b := logos.Get(string(m)); !b.IsUndefined() {
				img, err := bytesArg(b, "options.logos."+string(m))
				if err != nil {
					return opts, err
				}
				opts.Logos[m] = img
			}
		}
	}
	return opts, nil
}

// inkArg reads a pen drawing: strokes of [x, y] points in a unit box.
func inkArg(v js.Value) ([][][2]float64, error) {
	if v.IsUndefined() || v.IsNull() {
		return nil, nil
	}
	isArray := js.Global().Get("Array").Get("isArray")
	if !isArray.Invoke(v).Bool() {
		return nil, badArg("options.ink must be an array of strokes")
	}
	ink := make([][][2]float64, v.Length())
	for i := range ink {
		s := v.Index(i)
		if !isArray.Invoke(s).Bool() {
			return nil, badArg("options.ink[%d] must be an array of [x, y] points", i)
		}
		ink[i] = make([][2]float64, s.Length())
		for j := range ink[i] {
			pt := s.Index(j)
			if !isArray.Invoke(pt).Bool() || pt.Length() != 2 || pt.Index(0).Type() != js.TypeNumber || pt.Index(1).Type() != js.TypeNumber {
				return nil, badArg("options.ink[%d][%d] must be [x, y]", i, j)
			}
			ink[i][j] = [2]float64{pt.Index(0).Float(), pt.Index(1).Float()}
		}
	}
	return ink, nil
}
