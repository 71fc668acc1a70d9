package cms

import (
	"bytes"
	"crypto"
	"testing"
	"time"
)

// FuzzParse feeds hostile bytes to Parse and to everything that runs on its result. It
// must never panic, every error must carry a code, and what Parse accepted must survive the
// re-encoding AddTimestamp relies on.
func FuzzParse(f *testing.F) {
	pki, person := dev(f)
	_, d := content(f, crypto.SHA256)
	// Seeds carry only the leaf certificate: the fuzzer minimises every new input, and that
	// work grows with the input's size.
	rsaSig, err := Sign(d, crypto.SHA256, person.Chain[:1], person.Key)
	if err != nil {
		f.Fatal(err)
	}
	seal := pki.Seal()
	_, d384 := content(f, crypto.SHA384)
	ecSig, err := Sign(d384, crypto.SHA384, seal.Chain[:1], seal.Key)
	if err != nil {
		f.Fatal(err)
	}
	imprint, _ := TimestampImprint(ecSig, crypto.SHA256)
	token, err := pki.Timestamp(imprint, crypto.SHA256, time.Now())
	if err != nil {
		f.Fatal(err)
	}
	stamped, err := AddTimestamp(ecSig, token)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(rsaSig)
	f.Add(stamped)
	f.Add([]byte{0x30, 0x80, 0x00, 0x00})
	// BER as NSS and openssl -stream write it: indefinite lengths, segmented strings,
	// non-minimal lengths, zero padding after the end-of-contents.
	f.Add(append(toBER(f, rsaSig, berOptions{indefinite: func(d int) bool { return d%2 == 0 }, chunk: 64, longForm: true}), 0, 0, 0, 0))
	f.Add(toBER(f, ecSig, berOptions{indefinite: func(int) bool { return true }, chunk: 16}))

	f.Fuzz(func(t *testing.T, data []byte) {
		sig, err := Parse(data)
		if err != nil {
			if CodeOf(err) == "" {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		if err := sig.Verify(); err != nil && CodeOf(err) == "" {
			t.Fatalf("untyped error from Verify: %v", err)
		}
		if err := sig.PAdESBaseline(); err != nil && CodeOf(err) == "" {
			t.Fatalf("untyped error from PAdESBaseline: %v", err)
		}
		if !bytes.HasPrefix(data, sig.Raw) {
			t.Fatal("Raw is not the start of the input")
		}
		if err := sig.CheckDigest(d); err != nil && CodeOf(err) == "" {
			t.Fatalf("CheckDigest: %v", err)
		}
		out, err := sig.sd.marshal()
		if err != nil {
			t.Fatalf("re-encoding: %v", err)
		}
		if _, err := Parse(out); err != nil {
			t.Fatalf("the re-encoded signature does not parse: %v", err)
		}
	})
}
