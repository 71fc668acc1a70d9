package cms

import (
	"errors"
	"fmt"
)

// Error codes are part of the API: callers (the relay, the verification report, the JS
// bindings) branch on them and show them, so they never change once published.
const (
	// CodeMalformed: the bytes are not a CMS SignedData (DER, or BER within the limits of
	// the normaliser) with exactly one SignerInfo.
	CodeMalformed = "cms-malformed"
	// CodeUnsupportedAlgorithm: a digest or signature algorithm this package does not accept.
	CodeUnsupportedAlgorithm = "unsupported-algorithm"
	// CodeAttributeInvalid: a signed attribute is missing, repeated or wrong, or (from
	// PAdESBaseline) the CMS lacks what the PAdES baseline profile requires.
	CodeAttributeInvalid = "attribute-invalid"
	// CodeDigestMismatch: the message-digest attribute is not the digest of the document.
	CodeDigestMismatch = "digest-mismatch"
	// CodeSignatureInvalid: the signature value does not verify with the signer's key.
	CodeSignatureInvalid = "signature-invalid"
	// CodeSignerMissing: no certificate in the CMS matches the SignerInfo's identifier.
	CodeSignerMissing = "signer-missing"
	// CodeSigningCertMismatch: signing-certificate-v2 or signing-certificate names another
	// certificate than the signer's, or (from PAdESBaseline) neither is present.
	CodeSigningCertMismatch = "signing-cert-mismatch"
	// CodeTimestampInvalid: the time-stamp token cannot be read or its own signature fails.
	CodeTimestampInvalid = "timestamp-invalid"
	// CodeTimestampMismatch: the time-stamp token covers something else than this signature.
	CodeTimestampMismatch = "timestamp-mismatch"
	// CodeTimestampPresent: the signature already carries a signature time-stamp.
	CodeTimestampPresent = "timestamp-present"
	// CodeBadInput: the caller passed arguments that cannot work (wrong digest length,
	// empty chain, key not matching the certificate).
	CodeBadInput = "bad-input"
)

// Error is the only error type this package returns. Code is stable and machine readable;
// Msg is meant for a person; Err, when set, is the underlying cause.
type Error struct {
	Code string
	Msg  string
	Err  error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("cms: %s (%s): %v", e.Msg, e.Code, e.Err)
	}
	return fmt.Sprintf("cms: %s (%s)", e.Msg, e.Code)
}

func (e *Error) Unwrap() error { return e.Err }

// CodeOf returns the code of the first *Error in err's chain, or "" if there is none.
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func newError(code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

func wrapError(code string, err error, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...), Err: err}
}

func malformed(format string, args ...any) *Error {
	return newError(CodeMalformed, format, args...)
}
