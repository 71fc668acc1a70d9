package protocol

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestDecodeAccepts(t *testing.T) {
	d := base64.StdEncoding.EncodeToString(make([]byte, 32))
	frames := map[string]string{
		`{"type":"hello","token":"abc"}`:                                                        TypeHello,
		`{"type":"hello","token":"abc","resume":"s1"}`:                                          TypeHello,
		`{"type":"identify","method":"itsme","signer":{"name":"Jan Peeters"}}`:                  TypeIdentify,
		`{"type":"identify","method":"tan","signer":{"name":"Jan","phone":"+32 470 12 34 56"}}`: TypeIdentify,
		`{"type":"sign","digest":"` + d + `","hashAlgorithm":"sha256","label":"Contract 2026"}`: TypeSign,
		`{"type":"otp","code":"123456"}`:                                                        TypeOTP,
		`{"type":"ack","digest":"` + d + `"}`:                                                   TypeAck,
	}
	for f, want := range frames {
		m, err := Decode([]byte(f))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		b, _ := Encode(m)
		if !strings.Contains(string(b), `"type":"`+want+`"`) {
			t.Errorf("%s round-trips as %s", f, b)
		}
	}
}

func TestDecodeRefuses(t *testing.T) {
	d32 := base64.StdEncoding.EncodeToString(make([]byte, 32))
	d20 := base64.StdEncoding.EncodeToString(make([]byte, 20))
	cases := map[string]string{
		strings.Repeat(" ", MaxFrame+1):             CodeFrameTooLarge,
		`not json`:                                  CodeMalformed,
		`{"token":"x"}`:                             CodeMalformed,
		`{"type":"launch"}`:                         CodeUnknownType,
		`{"type":"welcome","session":"x"}`:          CodeUnknownType,
		`{"type":"hello","token":"x","admin":true}`: CodeUnknownField,
		`{"type":"hello"}`:                          CodeBadRequest,
		`{"type":"identify","method":"fax","signer":{"name":"Jan"}}`:                     CodeBadRequest,
		`{"type":"identify","method":"itsme","signer":{"name":"  "}}`:                    CodeBadRequest,
		`{"type":"identify","method":"tan","signer":{"name":"Jan"}}`:                     CodeBadRequest,
		`{"type":"sign","digest":"` + d20 + `","hashAlgorithm":"sha256","label":"x"}`:    CodeBadDigest,
		`{"type":"sign","digest":"` + d32 + `","hashAlgorithm":"sha384","label":"x"}`:    CodeBadDigest,
		`{"type":"sign","digest":"` + d32 + `","hashAlgorithm":"md5","label":"x"}`:       CodeBadDigest,
		`{"type":"sign","digest":"***","hashAlgorithm":"sha256","label":"x"}`:            CodeBadDigest,
		`{"type":"sign","digest":"` + d32 + `","hashAlgorithm":"sha256","level":"B-LT"}`: CodeBadRequest,
		`{"type":"sign","digest":"` + d32 + `","hashAlgorithm":"sha256","document":"x"}`: CodeUnknownField,
		`{"type":"otp","code":"1"}`:                                 CodeBadRequest,
		`{"type":"hello","token":"x"} {"type":"hello","token":"y"}`: CodeMalformed,
		"{\"type\":\"hello\",\"token\":\"\xff\"}":                   CodeMalformed,
	}
	for f, want := range cases {
		_, err := Decode([]byte(f))
		if err == nil || err.Code != want {
			t.Errorf("%.60s: got %v, want %s", f, err, want)
		}
	}
}

// FuzzDecode: any frame gives a message or a typed error, never a panic.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"type":"hello","token":"abc","resume":"s1"}`))
	f.Add([]byte(`{"type":"sign","digest":"AAAA","hashAlgorithm":"sha256","label":"x"}`))
	f.Add([]byte(`{"type":"identify","method":"tan","signer":{"name":"J","phone":"+3247"}}`))
	f.Fuzz(func(t *testing.T, frame []byte) {
		m, err := Decode(frame)
		if (m == nil) == (err == nil) {
			t.Fatalf("Decode returned %v and %v", m, err)
		}
		if err != nil && (err.Code == "" || err.Message == "") {
			t.Fatalf("untyped error %+v", err)
		}
	})
}
