package protocol

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/veilsign/veilsign/pdfcore/devpki"
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

func TestLongTermMessages(t *testing.T) {
	pki, err := devpki.New()
	if err != nil {
		t.Fatal(err)
	}
	var chain []string
	for _, c := range pki.Seal().Chain {
		chain = append(chain, base64.StdEncoding.EncodeToString(c.Raw))
	}
	chainJSON, _ := json.Marshal(chain)
	d48 := base64.StdEncoding.EncodeToString(make([]byte, 48))
	ok := map[string]string{
		`{"type":"validation-data","chain":` + string(chainJSON) + `}`:         TypeValidationData,
		`{"type":"timestamp","digest":"` + d48 + `","hashAlgorithm":"sha384"}`: TypeTimestamp,
	}
	for f, want := range ok {
		m, err := Decode([]byte(f))
		if err != nil {
			t.Fatalf("%.60s: %v", f, err)
		}
		b, _ := Encode(m)
		if !strings.Contains(string(b), `"type":"`+want+`"`) {
			t.Errorf("%s round-trips as %s", want, b)
		}
	}
	// A chain frame may exceed MaxFrame, up to MaxChainFrame; other frames may not.
	long := make([]string, MaxChain)
	for i := range long {
		long[i] = chain[0]
	}
	longJSON, _ := json.Marshal(long)
	if f := `{"type":"validation-data","chain":` + string(longJSON) + `}`; len(f) <= MaxFrame {
		t.Fatalf("test chain frame of %d bytes is not over MaxFrame", len(f))
	} else if _, err := Decode([]byte(f)); err != nil {
		t.Fatalf("a chain of %d certificates (%d bytes): %v", MaxChain, len(f), err)
	}
	huge, _ := json.Marshal(append(long, long...))
	pad := strings.Repeat("A", MaxFrame)
	bad := map[string]string{
		`{"type":"validation-data","chain":` + string(huge) + `}`:                           CodeBadRequest,
		`{"type":"validation-data","chain":["` + strings.Repeat("A", MaxChainFrame) + `"]}`: CodeFrameTooLarge,
		`{"type":"hello","token":"` + pad + `"}`:                                            CodeFrameTooLarge,
		`{"type":"validation-data","chain":[]}`:                                             CodeBadRequest,
		`{"type":"validation-data","chain":["AAAA"]}`:                                       CodeBadRequest,
		`{"type":"validation-data","chain":["***"]}`:                                        CodeBadRequest,
		`{"type":"validation-data","chain":` + string(chainJSON) + `,"url":"http://x"}`:     CodeUnknownField,
		`{"type":"timestamp","digest":"` + d48 + `","hashAlgorithm":"sha256"}`:              CodeBadDigest,
		`{"type":"timestamp","digest":"` + d48 + `","hashAlgorithm":"md5"}`:                 CodeBadDigest,
		`{"type":"timestamp","digest":"` + d48 + `","hashAlgorithm":"sha384","x":1}`:        CodeUnknownField,
		`{"type":"validation-data-result","ocsp":[]}`:                                       CodeUnknownType,
	}
	for f, want := range bad {
		_, err := Decode([]byte(f))
		if err == nil || err.Code != want {
			t.Errorf("%.70s: got %v, want %s", f, err, want)
		}
	}
	for _, m := range []any{&ValidationDataResult{OCSP: []string{"AA=="}}, &TimestampToken{Digest: d48, Token: "AA=="}} {
		b, err := Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeServer(b)
		if err != nil || reflect.TypeOf(back) != reflect.TypeOf(m) {
			t.Fatalf("%s: %T %v", b, back, err)
		}
	}
}
