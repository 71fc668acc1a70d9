package cms

import (
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
		if err := sig.CheckDigest(d); err != nil && CodeOf(err) != CodeDigestMismatch {
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
