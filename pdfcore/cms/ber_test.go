package cms

import (
	"bytes"
	"crypto"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestNormalizeBER checks the X.690 rewriting rules on small hand-built encodings.
func TestNormalizeBER(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"DER unchanged", "30 06 02 01 05 04 01 aa", "30 06 02 01 05 04 01 aa"},
		{"indefinite SEQUENCE", "30 80 02 01 05 00 00", "30 03 02 01 05"},
		{"nested indefinite", "30 80 31 80 30 80 05 00 00 00 00 00 02 01 01 00 00", "30 09 31 04 30 02 05 00 02 01 01"},
		{"constructed OCTET STRING", "24 80 04 01 aa 04 02 bb cc 00 00", "04 03 aa bb cc"},
		{"definite constructed OCTET STRING", "24 07 04 01 aa 04 02 bb cc", "04 03 aa bb cc"},
		{"nested segments", "24 80 24 80 04 01 01 00 00 24 04 04 02 02 03 04 00 00 00", "04 03 01 02 03"},
		{"empty constructed OCTET STRING", "24 80 00 00", "04 00"},
		{"constructed BIT STRING", "23 80 03 02 00 aa 03 02 04 b0 00 00", "03 03 04 aa b0"},
		{"empty constructed BIT STRING", "23 00", "03 01 00"},
		{"constructed UTF8String", "2c 80 04 02 68 69 04 01 21 00 00", "0c 03 68 69 21"},
		{"long-form length minimised", "04 82 00 02 aa bb", "04 02 aa bb"},
		{"long-form SEQUENCE minimised", "30 84 00 00 00 03 02 01 07", "30 03 02 01 07"},
		{"BOOLEAN TRUE", "30 80 01 01 01 00 00", "30 03 01 01 ff"},
		{"context-specific kept", "a0 80 80 01 01 a1 80 00 00 00 00", "a0 05 80 01 01 a1 00"},
		{"SET order kept", "31 80 02 01 02 02 01 01 00 00", "31 06 02 01 02 02 01 01"},
		{"126 length octets", "04 fe" + strings.Repeat(" 00", 125) + " 01 aa", "04 01 aa"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := unhex(t, tc.in)
			got, n, err := normalizeBER(in)
			if err != nil {
				t.Fatal(err)
			}
			if want := unhex(t, tc.want); !bytes.Equal(got, want) || n != len(in) {
				t.Fatalf("got % x (%d bytes read), want % x (%d)", got, n, want, len(in))
			}
		})
	}

	// A long indefinite-length element gets a multi-octet definite length.
	big := append(unhex(t, "30 80 04 82 01 2c"), make([]byte, 300)...)
	big = append(big, 0, 0)
	got, _, err := normalizeBER(big)
	if err != nil || !bytes.HasPrefix(got, unhex(t, "30 82 01 30 04 82 01 2c")) || len(got) != 308 {
		t.Fatalf("long element: % x… (%d bytes), %v", got[:min(8, len(got))], len(got), err)
	}
}

// TestNormalizeBERHostile: truncated or hostile input is a typed error, quickly.
func TestNormalizeBERHostile(t *testing.T) {
	deep := func(n int, open string) []byte {
		b := bytes.Repeat(unhex(t, open), n)
		return append(b, bytes.Repeat([]byte{0, 0}, n)...)
	}
	manyElems := append([]byte{0x30, 0x80}, bytes.Repeat([]byte{0x05, 0x00}, maxBERElements+1)...)
	manyElems = append(manyElems, 0, 0)
	manySegs := append([]byte{0x24, 0x80}, bytes.Repeat([]byte{0x04, 0x00}, maxBERElements+1)...)
	manySegs = append(manySegs, 0, 0)
	for name, in := range map[string][]byte{
		"empty":                    nil,
		"one byte":                 {0x30},
		"unterminated indefinite":  unhex(t, "30 80 02 01 05"),
		"unterminated nested":      unhex(t, "30 80 30 80 02 01 05 00 00"),
		"half end-of-contents":     unhex(t, "30 80 02 01 05 00"),
		"end-of-contents with len": unhex(t, "30 80 00 01 00 00 00"),
		"stray end-of-contents":    unhex(t, "30 04 00 00 00 00"),
		"bare end-of-contents":     unhex(t, "00 00"),
		"depth bomb":               deep(100, "30 80"),
		"segment depth bomb":       deep(100, "24 80"),
		"definite depth bomb":      bytes.Repeat([]byte{0x30, 0x02}, 100),
		"length overflow":          unhex(t, "30 88 ff ff ff ff ff ff ff ff 00"),
		"length past end":          unhex(t, "30 84 7f ff ff ff 00"),
		"huge length octet count":  append(unhex(t, "04 fe 01"), make([]byte, 200)...),
		"reserved length":          unhex(t, "04 ff 00"),
		"truncated length":         unhex(t, "04 82 01"),
		"child past parent":        unhex(t, "30 03 04 05 aa bb cc dd ee"),
		"primitive indefinite":     unhex(t, "04 80 aa 00 00"),
		"constructed INTEGER":      unhex(t, "22 03 02 01 01"),
		"primitive SEQUENCE":       unhex(t, "10 00"),
		"bad segment tag":          unhex(t, "24 80 02 01 01 00 00"),
		"BIT STRING in OCTET":      unhex(t, "24 80 03 02 00 aa 00 00"),
		"BIT STRING unused middle": unhex(t, "23 80 03 02 04 a0 03 02 00 aa 00 00"),
		"BIT STRING unused > 7":    unhex(t, "03 02 08 aa"),
		"BIT STRING empty":         unhex(t, "03 00"),
		"BOOLEAN two octets":       unhex(t, "01 02 ff ff"),
		"high tag number":          unhex(t, "1f 81 00 00"),
		"too many elements":        manyElems,
		"too many segments":        manySegs,
	} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			_, _, err := normalizeBER(in)
			wantCode(t, err, CodeMalformed)
			if el := time.Since(start); el > 2*time.Second {
				t.Fatalf("took %v", el)
			}
			// Parse says the same, and never panics.
			_, err = Parse(in)
			wantCode(t, err, CodeMalformed)
		})
	}
}

// berOptions says how toBER spoils a DER encoding.
type berOptions struct {
	indefinite func(depth int) bool // constructed elements at this depth get indefinite lengths
	chunk      int                  // OCTET and BIT STRINGs longer than this are segmented
	longForm   bool                 // primitive lengths get a spare leading zero octet
}

// toBER rewrites DER into an equivalent BER encoding (as NSS or openssl -stream write it):
// the normaliser must turn it back into exactly the same DER.
func toBER(t testing.TB, der []byte, o berOptions) []byte {
	t.Helper()
	var b cryptobyte.Builder
	in := cryptobyte.String(der)
	for !in.Empty() {
		berElement(t, &b, &in, o, 0)
	}
	return b.BytesOrPanic()
}

func berElement(t testing.TB, b *cryptobyte.Builder, in *cryptobyte.String, o berOptions, depth int) {
	var content cryptobyte.String
	var tag asn1.Tag
	if !in.ReadAnyASN1(&content, &tag) {
		t.Fatalf("toBER: not DER at depth %d", depth)
	}
	id := byte(tag)
	switch {
	case id&0x20 != 0:
		b.AddUint8(id)
		if o.indefinite != nil && o.indefinite(depth) {
			b.AddUint8(0x80)
			for !content.Empty() {
				berElement(t, b, &content, o, depth+1)
			}
			b.AddUint16(0)
			return
		}
		var inner cryptobyte.Builder
		for !content.Empty() {
			berElement(t, &inner, &content, o, depth+1)
		}
		addLength(b, inner.BytesOrPanic(), o.longForm)
	case (id == 0x04 || id == 0x03) && o.chunk > 0 && len(content) > o.chunk:
		// Constructed, indefinite, in chunks; a BIT STRING keeps its unused-bits octet in
		// the last segment and 0 in the others.
		b.AddUint8(id | 0x20)
		b.AddUint8(0x80)
		data, unused := []byte(content), byte(0)
		if id == 0x03 {
			data, unused = content[1:], content[0]
		}
		for len(data) > 0 {
			n := min(o.chunk, len(data))
			seg := data[:n]
			data = data[n:]
			if id == 0x03 {
				u := byte(0)
				if len(data) == 0 {
					u = unused
				}
				seg = append([]byte{u}, seg...)
			}
			b.AddASN1(tag, func(b *cryptobyte.Builder) { b.AddBytes(seg) })
		}
		b.AddUint16(0)
	default:
		b.AddUint8(id)
		addLength(b, content, o.longForm)
	}
}

// addLength writes the length octets, minimal or as four octets (non-minimal: spare
// leading zeros), then content.
func addLength(b *cryptobyte.Builder, content []byte, long bool) {
	if long {
		b.AddUint8(0x84)
		b.AddUint32(uint32(len(content)))
	} else {
		b.AddBytes(appendDERLength(nil, len(content)))
	}
	b.AddBytes(content)
}

// TestParseBER reads signatures rewritten into several BER forms: indefinite lengths at
// several levels, segmented OCTET and BIT STRINGs (signature value, message digest, keys),
// non-minimal lengths. Each must read as the DER original, with Raw kept as given.
func TestParseBER(t *testing.T) {
	pki, person := dev(t)
	_, d := content(t, crypto.SHA256)
	der, err := Sign(d, crypto.SHA256, person.Chain, person.Key)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := Parse(der)
	if err != nil {
		t.Fatal(err)
	}
	for name, o := range map[string]berOptions{
		"outer indefinite":    {indefinite: func(d int) bool { return d == 0 }},
		"top levels":          {indefinite: func(d int) bool { return d <= 3 }},
		"signed attributes":   {indefinite: func(d int) bool { return d == 5 || d == 6 }},
		"all indefinite":      {indefinite: func(int) bool { return true }},
		"segmented strings":   {chunk: 7},
		"long-form lengths":   {longForm: true},
		"everything together": {indefinite: func(d int) bool { return d%2 == 0 }, chunk: 5, longForm: true},
	} {
		t.Run(name, func(t *testing.T) {
			ber := toBER(t, der, o)
			if bytes.Equal(ber, der) {
				t.Fatal("toBER changed nothing")
			}
			padded := append(bytes.Clone(ber), make([]byte, 1000)...)
			sig, err := Parse(padded)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(sig.Raw, ber) {
				t.Fatalf("Raw is not the BER as given (%d bytes, want %d)", len(sig.Raw), len(ber))
			}
			if !bytes.Equal(sig.SignedAttributes, ref.SignedAttributes) || !bytes.Equal(sig.SignatureValue, ref.SignatureValue) ||
				!bytes.Equal(sig.MessageDigest, ref.MessageDigest) || len(sig.Certificates) != 3 || !sig.Signer.Equal(person.Chain[0]) {
				t.Fatal("the BER form does not read as the DER original")
			}
			if err := sig.Verify(); err != nil {
				t.Fatal(err)
			}
			if err := sig.CheckDigest(d); err != nil {
				t.Fatal(err)
			}
			if err := sig.PAdESBaseline(); err != nil {
				t.Fatal(err)
			}
			// Normalising is the exact inverse of toBER.
			if out, err := sig.sd.marshal(); err != nil || !bytes.Equal(out, der) {
				t.Fatalf("re-encoding differs from the DER original (%v)", err)
			}
			wantCode(t, sig.CheckDigest(sha256Of(d)), CodeDigestMismatch)

			for what, bad := range map[string][]byte{
				"truncated":      ber[:len(ber)-1],
				"half":           ber[:len(ber)/2],
				"trailing bytes": append(bytes.Clone(ber), 0, 0, 7),
			} {
				if _, err := Parse(bad); CodeOf(err) != CodeMalformed {
					t.Fatalf("%s: %v", what, err)
				}
			}
		})
	}

	// The signature value changed inside a BER encoding: read, then refused.
	o := berOptions{indefinite: func(int) bool { return true }}
	flipped := toBER(t, der, o)
	i := bytes.Index(flipped, ref.SignatureValue)
	flipped[i+10] ^= 1
	sig, err := Parse(flipped)
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, sig.Verify(), CodeSignatureInvalid)

	// A time-stamp added to a BER signature: the result is DER and still verifies.
	imprint, err := TimestampImprint(toBER(t, der, o), crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	token, err := pki.Timestamp(imprint, crypto.SHA256, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	stamped, err := AddTimestamp(toBER(t, der, o), toBER(t, token, berOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	sig, err = Parse(toBER(t, stamped, berOptions{indefinite: func(d int) bool { return d > 2 }, chunk: 16}))
	if err != nil {
		t.Fatal(err)
	}
	if sig.Timestamp == nil || sig.Timestamp.Err != nil || sig.Verify() != nil {
		t.Fatalf("time-stamp in BER: %+v, %v", sig.Timestamp, sig.Verify())
	}
}

// TestParseBERSubjectKeyID: a [0] IMPLICIT OCTET STRING subjectKeyIdentifier in the BER
// segmented form, which only the SignerInfo reader can recognise.
func TestParseBERSubjectKeyID(t *testing.T) {
	_, person := dev(t)
	_, d := content(t, crypto.SHA256)
	der, err := Sign(d, crypto.SHA256, person.Chain, person.Key)
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := Parse(der)
	ski := person.Chain[0].SubjectKeyId
	if len(ski) < 4 {
		t.Fatal("the dev certificate has no subject key identifier")
	}
	sig.sd.si.version = 3
	sig.sd.si.sid = append(append(append([]byte{0xa0, 0x80, 0x04, 3}, ski[:3]...), 0x04, byte(len(ski)-3)), append(bytes.Clone(ski[3:]), 0, 0)...)
	ber, err := sig.sd.marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(ber)
	if err != nil {
		t.Fatal(err)
	}
	if got.Signer == nil || !got.Signer.Equal(person.Chain[0]) {
		t.Fatal("the signer named by a segmented subjectKeyIdentifier was not found")
	}
	if err := got.Verify(); err != nil {
		t.Fatal(err)
	}
	out, err := got.sd.marshal()
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse(out)
	if err != nil || !bytes.Equal(again.Raw, out) || again.Signer == nil {
		t.Fatalf("the DER re-encoding does not read back: %v", err)
	}
}
