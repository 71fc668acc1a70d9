package cms

import (
	"bytes"
	"crypto"
	"testing"
	"time"
)

// FuzzTimestamp feeds hostile time-stamp tokens to the token parser and to AddTimestamp
// (what the relay does with a TSA's answer, and what a verifier does with a document
// time-stamp). Every error must carry a code, nothing may panic, and a token AddTimestamp
// accepts must be one a reader then finds valid over this signature value.
func FuzzTimestamp(f *testing.F) {
	pki, _ := dev(f)
	seal := pki.Seal()
	_, d := content(f, crypto.SHA256)
	sig, err := Sign(d, crypto.SHA256, seal.Chain[:1], seal.Key)
	if err != nil {
		f.Fatal(err)
	}
	imprint, err := TimestampImprint(sig, crypto.SHA256)
	if err != nil {
		f.Fatal(err)
	}
	token, err := pki.Timestamp(imprint, crypto.SHA256, time.Now())
	if err != nil {
		f.Fatal(err)
	}
	other, err := pki.Timestamp(d, crypto.SHA256, time.Now())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(token)
	f.Add(other)
	f.Add(token[:len(token)/2])
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, tok []byte) {
		ts := ParseTimestampToken(tok)
		if ts == nil {
			t.Fatal("no result")
		}
		if ts.Err != nil && CodeOf(ts.Err) == "" {
			t.Fatalf("untyped error %v", ts.Err)
		}
		ts.Covers(d, crypto.SHA256)
		_ = ts.String()
		out, err := AddTimestamp(sig, tok)
		if err != nil {
			if CodeOf(err) == "" {
				t.Fatalf("untyped error from AddTimestamp: %v", err)
			}
			return
		}
		got, err := Parse(out)
		if err != nil {
			t.Fatalf("AddTimestamp wrote what Parse refuses: %v", err)
		}
		if got.Timestamp == nil || !got.Timestamp.ImprintValid || got.Verify() != nil {
			t.Fatalf("an accepted token is not valid in the result: %+v", got.Timestamp)
		}
		if !bytes.Equal(got.SignatureValue, mustParse(t, sig).SignatureValue) {
			t.Fatal("the signature value changed")
		}
	})
}

func mustParse(t *testing.T, der []byte) *Signature {
	t.Helper()
	s, err := Parse(der)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
