package pdfcore

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"time"
)

// Warm prepares one signature on a small document of its own and throws it away, so that
// what the first signature of a process pays once is paid ahead of it: parsing the fonts,
// drawing the method marks, making the compressor, and — in a browser, where WebAssembly is
// compiled function by function on first call and runs slowly until it is recompiled — the
// engine's work on every function a signature runs. In Chromium the first prepare of a page
// took 90-160 ms against 5 ms for the next; a caller with idle time before its first
// signature (the WASM core, between loading and the signer's identification) calls Warm
// then. It touches no caller's data and leaves nothing behind but those caches.
func Warm() error {
	doc, err := Open(warmDocument())
	if err != nil {
		return err
	}
	leaf := &x509.Certificate{Subject: pkix.Name{CommonName: "Warm Up", SerialNumber: "0"}, Issuer: pkix.Name{CommonName: "Warm Up CA"}}
	plan := &Plan{Signers: []Signer{
		{Label: "A", Name: "Warm Up", Capacity: "Signer", Method: MethodX509, Field: &Field{Page: 1, Rect: Rect{LLX: 300, LLY: 20, URX: 540, URY: 55}}},
		{Label: "B", Name: "Warm Up", Method: MethodItsme},
	}}
	_, err = Prepare(doc, plan, "A", []*x509.Certificate{leaf}, Options{Time: time.Unix(0, 0)})
	return err
}

// warmDocument is a one-page PDF with a text line and a classic cross-reference table.
func warmDocument() []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n")
	content := "BT /F1 12 Tf 72 720 Td (Warm up) Tj ET"
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Count 1 /Kids [3 0 R] >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content),
	}
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f\r\n", len(objs)+1)
	for _, o := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n\r\n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}
