// Package protocol is the one definition of what travels over the relay's websocket
// (GET /v1/sign): JSON text frames, each an object with a "type". The relay, the native
// `relay sign --relay` client and the browser package all use these types (the TypeScript
// declarations in js/ are checked against them by a test). Nothing here can carry a
// document: a signing request holds a digest and a short label.
package protocol

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"
)

// Version is the protocol version; the path is /v1/sign.
const Version = 1

// MaxFrame is the largest frame the relay accepts from a client. A sign request is under
// 1 KB; anything near this limit is not a client of ours.
const MaxFrame = 4 << 10

// MaxServerFrame bounds frames from the relay: a certificate chain or a CMS with its
// timestamp token.
const MaxServerFrame = 256 << 10

// MaxChainFrame bounds a client frame that carries a certificate chain (validation-data):
// ten certificates of a few KB each in base64.
const MaxChainFrame = 32 << 10

// MaxChain is the most certificates a validation-data request may name.
const MaxChain = 10

// Message types.
const (
	TypeHello       = "hello"
	TypeWelcome     = "welcome"
	TypeIdentify    = "identify"
	TypeCertificate = "certificate"
	TypeSign        = "sign"
	TypeStatus      = "status"
	TypeSignature   = "signature"
	TypeOTP         = "otp"
	TypeAck         = "ack"
	TypeError       = "error"
	// Long-term validation (PAdES B-LT, B-LTA): the relay fetches what the page cannot.
	TypeValidationData       = "validation-data"
	TypeValidationDataResult = "validation-data-result"
	TypeTimestamp            = "timestamp"
	TypeTimestampToken       = "timestamp-token"
)

// States of a status message.
const (
	StateAwaitingConsent  = "awaiting-consent"  // itsme: approve the certificate's creation (dance 1)
	StateAwaitingApproval = "awaiting-approval" // the signer must confirm (app PIN, card PIN)
	StateOTPSent          = "otp-sent"          // TAN: a code was sent; answer with an otp message
	StateSigning          = "signing"           // the signer approved; the signature is being made
	StateTimestamping     = "timestamping"      // asking the TSA for the signature time-stamp
)

// Hello opens a session, or resumes one after a dropped socket.
type Hello struct {
	Type  string `json:"type"`
	Token string `json:"token"`
	// Resume is the session id of a welcome received earlier.
	Resume string `json:"resume,omitempty"`
}

// Welcome answers hello.
type Welcome struct {
	Type           string   `json:"type"`
	Version        int      `json:"version"`
	Session        string   `json:"session"`
	Methods        []string `json:"methods"`
	HashAlgorithms []string `json:"hashAlgorithms"`
	// Resumed is true when the session existed; pending results follow.
	Resumed bool `json:"resumed,omitempty"`
}

// Signer is who signs, as the portal's page knows them.
type Signer struct {
	Name     string `json:"name"`
	Email    string `json:"email,omitempty"`
	Capacity string `json:"capacity,omitempty"`
	Phone    string `json:"phone,omitempty"` // TAN: where the code goes
}

// Identify asks for the certificate chain the signature will be made with.
type Identify struct {
	Type   string `json:"type"`
	Method string `json:"method"`
	Signer Signer `json:"signer"`
}

// Certificate answers identify: base64 DER certificates, leaf first.
type Certificate struct {
	Type  string   `json:"type"`
	Chain []string `json:"chain"`
}

// Sign asks for a signature over digest: the hash of the document's signed byte ranges.
// Sending the same digest again (after a reconnect) returns the same signature; it never
// asks the signer twice.
type Sign struct {
	Type          string `json:"type"`
	Digest        string `json:"digest"` // standard base64
	HashAlgorithm string `json:"hashAlgorithm"`
	Label         string `json:"label"` // shown to the signer, e.g. "Contract 2026-114"
	// Level is the PAdES level asked for: "B-T" (default, with a timestamp) or "B-B".
	Level string `json:"level,omitempty"`
}

// Status reports progress; URL is set when the signer must open a page (itsme's OAuth2
// authorisation), Message is a sentence for the signer.
type Status struct {
	Type    string `json:"type"`
	State   string `json:"state"`
	URL     string `json:"url,omitempty"`
	Message string `json:"message,omitempty"`
}

// Signature delivers the CMS for a digest.
type Signature struct {
	Type   string `json:"type"`
	Digest string `json:"digest"` // the digest it signs, so a client can match it
	CMS    string `json:"cms"`    // standard base64 DER
	Level  string `json:"level"`
}

// OTP answers an otp-sent status with the code the signer received.
type OTP struct {
	Type string `json:"type"`
	Code string `json:"code"`
}

// Ack confirms that a signature was received; until then a resumed session gets it again.
type Ack struct {
	Type   string `json:"type"`
	Digest string `json:"digest"`
}

// ValidationData asks for the revocation data of a certificate chain (base64 DER, leaf
// first; the root may be left out): OCSP responses and CRLs for every certificate but the
// root, which the page adds to the document's DSS (B-LT). The relay answers only for
// chains that lead to a root it trusts (else untrusted-chain). It reveals certificates,
// never a document.
type ValidationData struct {
	Type  string   `json:"type"`
	Chain []string `json:"chain"`
}

// ValidationDataResult answers validation-data: base64 DER OCSP responses (RFC 6960
// OCSPResponse), CRLs, and the certificates to keep with them (the chain with its root,
// and any delegated OCSP responder's certificate).
type ValidationDataResult struct {
	Type  string   `json:"type"`
	OCSP  []string `json:"ocsp"`
	CRL   []string `json:"crl"`
	Certs []string `json:"certs"`
}

// Timestamp asks the relay's TSA for an RFC 3161 token over digest: for a document
// time-stamp (B-LTA), the hash of the byte ranges of the prepared time-stamp field.
type Timestamp struct {
	Type          string `json:"type"`
	Digest        string `json:"digest"` // standard base64
	HashAlgorithm string `json:"hashAlgorithm"`
}

// TimestampToken answers timestamp: the TimeStampToken (base64 DER) for digest.
type TimestampToken struct {
	Type   string `json:"type"`
	Digest string `json:"digest"`
	Token  string `json:"token"`
}

// Error reports a refusal or a failure. Retryable says whether the same request may
// succeed later (a TSA or signer outage), as opposed to a request that is wrong.
type Error struct {
	Type      string `json:"type"`
	Code      string `json:"code"`
	Message   string `json:"message"`
	Retryable bool   `json:"retryable"`
}

// Error codes.
const (
	CodeFrameTooLarge    = "frame-too-large"
	CodeMalformed        = "malformed-frame"
	CodeUnknownType      = "unknown-type"
	CodeUnknownField     = "unknown-field"
	CodeBadRequest       = "bad-request"
	CodeBadDigest        = "bad-digest"
	CodeUnauthorized     = "unauthorized"
	CodeForbidden        = "forbidden"
	CodeRateLimited      = "rate-limited"
	CodeOutOfOrder       = "out-of-order"
	CodeLimitReached     = "limit-reached"
	CodeUnknownSession   = "unknown-session"
	CodeSignerFailed     = "signer-failed"
	CodeSignerTimeout    = "signer-timeout"
	CodeSignerRefused    = "signer-refused"
	CodeTSAUnavailable   = "tsa-unavailable"
	CodeWrongOTP         = "wrong-otp"
	CodeOTPExpired       = "otp-expired"
	CodeUnavailable      = "unavailable"
	CodeInternal         = "internal"
	CodeMethodNotOffered = "method-not-offered"
	// CodeUntrustedChain: validation-data for a chain that does not lead to a root the
	// relay trusts (it is not an open proxy).
	CodeUntrustedChain = "untrusted-chain"
	// CodeValidationUnavailable: no OCSP responder or CRL distribution point answered.
	CodeValidationUnavailable = "validation-unavailable"
)

// Hash algorithms by name, with their digest sizes.
var HashSizes = map[string]int{"sha256": 32, "sha384": 48, "sha512": 64}

// Methods the protocol knows.
var Methods = []string{"itsme", "eid", "x509", "pen", "tan"}

// Decode reads one client frame into its message type. Unknown types and unknown fields
// are refused, so a client built against another version fails loudly instead of being
// half understood. The returned value is a pointer to one of the message structs.
func Decode(frame []byte) (any, *Error) {
	if len(frame) > MaxChainFrame {
		return nil, Errorf(CodeFrameTooLarge, false, "Frames are limited to %d bytes (%d for validation-data).", MaxFrame, MaxChainFrame)
	}
	if !utf8.Valid(frame) {
		return nil, Errorf(CodeMalformed, false, "The frame is not UTF-8 text.")
	}
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(frame, &head); err != nil {
		if len(frame) > MaxFrame {
			return nil, Errorf(CodeFrameTooLarge, false, "Frames are limited to %d bytes (%d for validation-data).", MaxFrame, MaxChainFrame)
		}
		return nil, Errorf(CodeMalformed, false, "The frame is not a JSON object: %v.", err)
	}
	if len(frame) > MaxFrame && head.Type != TypeValidationData {
		return nil, Errorf(CodeFrameTooLarge, false, "Frames are limited to %d bytes (%d for validation-data).", MaxFrame, MaxChainFrame)
	}
	if head.Type == "" {
		return nil, Errorf(CodeMalformed, false, "The frame has no \"type\".")
	}
	newMsg, ok := clientMessages[head.Type]
	if !ok {
		return nil, Errorf(CodeUnknownType, false, "Unknown message type %q.", truncate(head.Type, 40))
	}
	msg := newMsg()
	dec := json.NewDecoder(bytes.NewReader(frame))
	dec.DisallowUnknownFields()
	if err := dec.Decode(msg); err != nil {
		if strings.HasPrefix(err.Error(), "json: unknown field") {
			return nil, Errorf(CodeUnknownField, false, "%s message: %s.", head.Type, strings.TrimPrefix(err.Error(), "json: "))
		}
		return nil, Errorf(CodeMalformed, false, "%s message: %v.", head.Type, err)
	}
	if dec.More() {
		return nil, Errorf(CodeMalformed, false, "The frame holds more than one JSON value.")
	}
	if e := validate(msg); e != nil {
		return nil, e
	}
	return msg, nil
}

func validate(msg any) *Error {
	switch m := msg.(type) {
	case *Hello:
		if m.Token == "" || len(m.Token) > 2048 {
			return Errorf(CodeBadRequest, false, "hello needs a session token.")
		}
		if len(m.Resume) > 64 {
			return Errorf(CodeBadRequest, false, "resume is not a session id.")
		}
	case *Identify:
		if !known(m.Method) {
			return Errorf(CodeBadRequest, false, "Unknown signing method %q (itsme, eid, x509, pen or tan).", truncate(m.Method, 20))
		}
		s := m.Signer
		if strings.TrimSpace(s.Name) == "" || len(s.Name) > 200 || len(s.Email) > 200 || len(s.Capacity) > 200 || len(s.Phone) > 32 {
			return Errorf(CodeBadRequest, false, "identify needs the signer's name; name, e-mail and capacity are at most 200 characters, phone 32.")
		}
		if m.Method == "tan" && !validPhone(s.Phone) {
			return Errorf(CodeBadRequest, false, "A TAN signature needs the signer's phone number in international form (+32…).")
		}
	case *Sign:
		size, ok := HashSizes[m.HashAlgorithm]
		if !ok {
			return Errorf(CodeBadDigest, false, "hashAlgorithm must be sha256, sha384 or sha512.")
		}
		d, err := base64.StdEncoding.DecodeString(m.Digest)
		if err != nil || len(d) != size {
			return Errorf(CodeBadDigest, false, "The digest must be %d bytes of standard base64 for %s.", size, m.HashAlgorithm)
		}
		if len(m.Label) > 255 || !utf8.ValidString(m.Label) {
			return Errorf(CodeBadRequest, false, "The label is at most 255 characters.")
		}
		if m.Level != "" && m.Level != "B-B" && m.Level != "B-T" {
			return Errorf(CodeBadRequest, false, "level must be B-B or B-T.")
		}
	case *OTP:
		if len(m.Code) < 4 || len(m.Code) > 12 {
			return Errorf(CodeBadRequest, false, "The code has 4 to 12 characters.")
		}
	case *Ack:
		if _, err := base64.StdEncoding.DecodeString(m.Digest); err != nil || m.Digest == "" {
			return Errorf(CodeBadRequest, false, "ack names the digest of the signature received.")
		}
	case *ValidationData:
		if len(m.Chain) == 0 || len(m.Chain) > MaxChain {
			return Errorf(CodeBadRequest, false, "validation-data needs a chain of 1 to %d certificates.", MaxChain)
		}
		for i, c := range m.Chain {
			der, err := base64.StdEncoding.DecodeString(c)
			if err != nil {
				return Errorf(CodeBadRequest, false, "Certificate %d of the chain is not standard base64.", i+1)
			}
			if _, err := x509.ParseCertificate(der); err != nil {
				return Errorf(CodeBadRequest, false, "Certificate %d of the chain is not a DER certificate.", i+1)
			}
		}
	case *Timestamp:
		size, ok := HashSizes[m.HashAlgorithm]
		if !ok {
			return Errorf(CodeBadDigest, false, "hashAlgorithm must be sha256, sha384 or sha512.")
		}
		d, err := base64.StdEncoding.DecodeString(m.Digest)
		if err != nil || len(d) != size {
			return Errorf(CodeBadDigest, false, "The digest must be %d bytes of standard base64 for %s.", size, m.HashAlgorithm)
		}
	}
	return nil
}

func known(method string) bool {
	for _, m := range Methods {
		if m == method {
			return true
		}
	}
	return false
}

func validPhone(p string) bool {
	if len(p) < 8 || p[0] != '+' {
		return false
	}
	for _, c := range p[1:] {
		if (c < '0' || c > '9') && c != ' ' {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// Errorf builds an error message.
func Errorf(code string, retryable bool, format string, args ...any) *Error {
	return &Error{Type: TypeError, Code: code, Message: fmt.Sprintf(format, args...), Retryable: retryable}
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// messages is the one list of message types: their names, which side sends them, and
// their Go structs. Decode, DecodeServer and Encode are derived from it.
var messages = []struct {
	name       string
	fromClient bool
	new        func() any
}{
	{TypeHello, true, func() any { return &Hello{} }},
	{TypeIdentify, true, func() any { return &Identify{} }},
	{TypeSign, true, func() any { return &Sign{} }},
	{TypeOTP, true, func() any { return &OTP{} }},
	{TypeAck, true, func() any { return &Ack{} }},
	{TypeValidationData, true, func() any { return &ValidationData{} }},
	{TypeTimestamp, true, func() any { return &Timestamp{} }},
	{TypeWelcome, false, func() any { return &Welcome{} }},
	{TypeCertificate, false, func() any { return &Certificate{} }},
	{TypeStatus, false, func() any { return &Status{} }},
	{TypeSignature, false, func() any { return &Signature{} }},
	{TypeValidationDataResult, false, func() any { return &ValidationDataResult{} }},
	{TypeTimestampToken, false, func() any { return &TimestampToken{} }},
	{TypeError, false, func() any { return &Error{} }},
}

var (
	clientMessages = map[string]func() any{}
	serverMessages = map[string]func() any{}
	typeNames      = map[reflect.Type]string{}
)

func init() {
	for _, m := range messages {
		if m.fromClient {
			clientMessages[m.name] = m.new
		} else {
			serverMessages[m.name] = m.new
		}
		typeNames[reflect.TypeOf(m.new())] = m.name
	}
}

// Encode writes a server or client message as one frame, setting its type.
func Encode(msg any) ([]byte, error) {
	name, ok := typeNames[reflect.TypeOf(msg)]
	if !ok {
		return nil, fmt.Errorf("protocol: cannot encode %T", msg)
	}
	reflect.ValueOf(msg).Elem().FieldByName("Type").SetString(name)
	return json.Marshal(msg)
}

// DecodeServer reads one frame from the relay (used by clients).
func DecodeServer(frame []byte) (any, error) {
	if len(frame) > MaxServerFrame {
		return nil, fmt.Errorf("protocol: relay frame of %d bytes is over the limit", len(frame))
	}
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(frame, &head); err != nil {
		return nil, fmt.Errorf("protocol: relay frame is not JSON: %w", err)
	}
	newMsg, ok := serverMessages[head.Type]
	if !ok {
		return nil, fmt.Errorf("protocol: unknown relay message %q", truncate(head.Type, 40))
	}
	msg := newMsg()
	if err := json.Unmarshal(frame, msg); err != nil {
		return nil, fmt.Errorf("protocol: %s: %w", head.Type, err)
	}
	return msg, nil
}
