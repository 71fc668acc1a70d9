package tsa

import (
	"crypto"
	encasn1 "encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// Media types of RFC 3161 §3.4. Some TSAs answer with the older "timestamp-response".
const (
	mediaQuery        = "application/timestamp-query"
	mediaReply        = "application/timestamp-reply"
	mediaReplyLegacy  = "application/timestamp-response"
	defaultMaxRequest = 8 << 10
)

// PKIStatus values (RFC 3161 §2.4.2).
const (
	statusGranted                = 0
	statusGrantedWithMods        = 1
	statusRejection              = 2
	statusWaiting                = 3
	statusRevocationWarning      = 4
	statusRevocationNotification = 5
)

// PKIFailureInfo bits (RFC 3161 §2.4.2).
const (
	failBadAlg              = 0
	failBadRequest          = 2
	failBadDataFormat       = 5
	failTimeNotAvailable    = 14
	failUnacceptedPolicy    = 15
	failUnacceptedExtension = 16
	failAddInfoNotAvailable = 17
	failSystemFailure       = 25
	noFailInfo              = -1
)

func statusName(s int64) string {
	switch s {
	case statusGranted:
		return "granted"
	case statusGrantedWithMods:
		return "grantedWithMods"
	case statusRejection:
		return "rejection"
	case statusWaiting:
		return "waiting"
	case statusRevocationWarning:
		return "revocationWarning"
	case statusRevocationNotification:
		return "revocationNotification"
	}
	return "unknown status " + strconv.FormatInt(s, 10)
}

var failNames = map[int]string{
	failBadAlg:              "badAlg",
	failBadRequest:          "badRequest",
	failBadDataFormat:       "badDataFormat",
	failTimeNotAvailable:    "timeNotAvailable",
	failUnacceptedPolicy:    "unacceptedPolicy",
	failUnacceptedExtension: "unacceptedExtension",
	failAddInfoNotAvailable: "addInfoNotAvailable",
	failSystemFailure:       "systemFailure",
}

// Hash algorithm identifiers: only the SHA-2 hashes are accepted in imprints.
var (
	oidSHA1   = encasn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA256 = encasn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384 = encasn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512 = encasn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
)

func hashFromOID(oid encasn1.ObjectIdentifier) crypto.Hash {
	switch {
	case oid.Equal(oidSHA1):
		return crypto.SHA1
	case oid.Equal(oidSHA256):
		return crypto.SHA256
	case oid.Equal(oidSHA384):
		return crypto.SHA384
	case oid.Equal(oidSHA512):
		return crypto.SHA512
	}
	return 0
}

// imprintHash reports whether h may be used for a message imprint.
func imprintHash(h crypto.Hash) bool {
	return h == crypto.SHA256 || h == crypto.SHA384 || h == crypto.SHA512
}

// tsRequest is a decoded TimeStampReq.
type tsRequest struct {
	hashOID    encasn1.ObjectIdentifier
	hash       crypto.Hash // 0 when the algorithm is not known
	imprint    []byte
	policy     encasn1.ObjectIdentifier // nil when absent
	nonce      *big.Int                 // nil when absent
	certReq    bool
	extensions int
}

// requestError is a TimeStampReq that must be answered with a rejection.
type requestError struct {
	failInfo int
	msg      string
}

func (e *requestError) Error() string { return e.msg }

func badRequest(failInfo int, format string, args ...any) error {
	return &requestError{failInfo: failInfo, msg: fmt.Sprintf(format, args...)}
}

// parseRequest reads a DER TimeStampReq (RFC 3161 §2.4.1):
//
//	TimeStampReq ::= SEQUENCE { version INTEGER { v1(1) }, messageImprint MessageImprint,
//	  reqPolicy TSAPolicyId OPTIONAL, nonce INTEGER OPTIONAL,
//	  certReq BOOLEAN DEFAULT FALSE, extensions [0] IMPLICIT Extensions OPTIONAL }
func parseRequest(der []byte) (*tsRequest, error) {
	in := cryptobyte.String(der)
	var req, mi, alg cryptobyte.String
	var version int64
	r := &tsRequest{}
	if !in.ReadASN1(&req, asn1.SEQUENCE) || !in.Empty() {
		return nil, badRequest(failBadDataFormat, "the request is not one DER TimeStampReq")
	}
	if !req.ReadASN1Integer(&version) || version != 1 {
		return nil, badRequest(failBadDataFormat, "the request is not a version 1 TimeStampReq")
	}
	if !req.ReadASN1(&mi, asn1.SEQUENCE) || !mi.ReadASN1(&alg, asn1.SEQUENCE) ||
		!alg.ReadASN1ObjectIdentifier(&r.hashOID) || !mi.ReadASN1Bytes(&r.imprint, asn1.OCTET_STRING) || !mi.Empty() {
		return nil, badRequest(failBadDataFormat, "the message imprint is malformed")
	}
	if !alg.Empty() && (!alg.SkipASN1(asn1.NULL) || !alg.Empty()) {
		return nil, badRequest(failBadAlg, "the hash algorithm has parameters")
	}
	r.hash = hashFromOID(r.hashOID)
	if req.PeekASN1Tag(asn1.OBJECT_IDENTIFIER) {
		if !req.ReadASN1ObjectIdentifier(&r.policy) {
			return nil, badRequest(failBadDataFormat, "the requested policy is malformed")
		}
	}
	if req.PeekASN1Tag(asn1.INTEGER) {
		r.nonce = new(big.Int)
		if !req.ReadASN1Integer(r.nonce) {
			return nil, badRequest(failBadDataFormat, "the nonce is malformed")
		}
	}
	if req.PeekASN1Tag(asn1.BOOLEAN) {
		if !req.ReadASN1Boolean(&r.certReq) {
			return nil, badRequest(failBadDataFormat, "certReq is malformed")
		}
	}
	if req.PeekASN1Tag(asn1.Tag(0).ContextSpecific().Constructed()) {
		var exts cryptobyte.String
		if !req.ReadASN1(&exts, asn1.Tag(0).ContextSpecific().Constructed()) {
			return nil, badRequest(failBadDataFormat, "the extensions are malformed")
		}
		for !exts.Empty() {
			if !exts.SkipASN1(asn1.SEQUENCE) {
				return nil, badRequest(failBadDataFormat, "the extensions are malformed")
			}
			r.extensions++
		}
	}
	if !req.Empty() {
		return nil, badRequest(failBadDataFormat, "the request has unexpected fields")
	}
	return r, nil
}

// marshalResponse encodes a TimeStampResp (RFC 3161 §2.4.2). failInfo is a PKIFailureInfo
// bit or noFailInfo; text, when not empty, becomes the statusString; token, when not nil,
// is the TimeStampToken (a DER ContentInfo).
func marshalResponse(status int64, failInfo int, text string, token []byte) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1Int64(status)
			if text != "" {
				b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1(asn1.UTF8String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(text)) })
				})
			}
			if failInfo >= 0 {
				// A named bit list: DER drops trailing zero bits, so the last bit is ours.
				bits := make([]byte, failInfo/8+1)
				bits[failInfo/8] = 0x80 >> (failInfo % 8)
				b.AddASN1(asn1.BIT_STRING, func(b *cryptobyte.Builder) {
					b.AddUint8(uint8(7 - failInfo%8))
					b.AddBytes(bits)
				})
			}
		})
		if token != nil {
			b.AddBytes(token)
		}
	})
	return b.Bytes()
}

// tsResponse is a decoded TimeStampResp.
type tsResponse struct {
	status   int64
	text     []string
	failInfo []int
	token    []byte // nil when absent
}

// parseResponse reads a DER TimeStampResp. The token is returned as is, not yet checked.
func parseResponse(der []byte) (*tsResponse, error) {
	in := cryptobyte.String(der)
	var resp, si cryptobyte.String
	r := &tsResponse{}
	if !in.ReadASN1(&resp, asn1.SEQUENCE) || !in.Empty() || !resp.ReadASN1(&si, asn1.SEQUENCE) || !si.ReadASN1Integer(&r.status) {
		return nil, errors.New("the answer is not one DER TimeStampResp")
	}
	if si.PeekASN1Tag(asn1.SEQUENCE) {
		var free cryptobyte.String
		if !si.ReadASN1(&free, asn1.SEQUENCE) {
			return nil, errors.New("the TimeStampResp statusString is malformed")
		}
		for !free.Empty() {
			var s cryptobyte.String
			var tag asn1.Tag
			if !free.ReadAnyASN1(&s, &tag) {
				return nil, errors.New("the TimeStampResp statusString is malformed")
			}
			r.text = append(r.text, string(s))
		}
	}
	if si.PeekASN1Tag(asn1.BIT_STRING) {
		var bits encasn1.BitString
		if !si.ReadASN1BitString(&bits) {
			return nil, errors.New("the TimeStampResp failInfo is malformed")
		}
		for i := 0; i < bits.BitLength && i < 64; i++ {
			if bits.At(i) == 1 {
				r.failInfo = append(r.failInfo, i)
			}
		}
	}
	if !si.Empty() {
		return nil, errors.New("the TimeStampResp status has unexpected fields")
	}
	if !resp.Empty() {
		var token cryptobyte.String
		if !resp.ReadASN1Element(&token, asn1.SEQUENCE) || !resp.Empty() {
			return nil, errors.New("the TimeStampResp token is not one DER ContentInfo")
		}
		r.token = []byte(token)
	}
	return r, nil
}

// describe renders a non-granted status for an error message. Everything the TSA wrote is
// quoted and cut short: it is untrusted text going into logs.
func (r *tsResponse) describe() string {
	var sb strings.Builder
	sb.WriteString(statusName(r.status))
	if len(r.failInfo) > 0 {
		names := make([]string, 0, len(r.failInfo))
		for _, f := range r.failInfo {
			if n, ok := failNames[f]; ok {
				names = append(names, n)
			} else {
				names = append(names, "bit "+strconv.Itoa(f))
			}
		}
		sb.WriteString(" (" + strings.Join(names, ", ") + ")")
	}
	if len(r.text) > 0 {
		text := strings.Join(r.text, "; ")
		if len(text) > 200 {
			text = text[:200] + "…"
		}
		sb.WriteString(": " + strconv.Quote(text))
	}
	return sb.String()
}
