package pdfcore

import (
	"errors"
	"fmt"

	"github.com/veilsign/veilsign/pdfcore/cms"
	"github.com/veilsign/veilsign/pdfcore/internal/pdfread"
)

// Code is a stable error code. It crosses into JavaScript as error.code and into the CLI's
// messages, so codes are never renamed.
type Code string

const (
	CodeNotPDF           Code = "not-pdf"
	CodeEncrypted        Code = "encrypted"
	CodeDamagedXref      Code = "damaged-xref"
	CodeDamagedObject    Code = "damaged-object"
	CodeNoChangesAllowed Code = "no-changes-allowed"
	CodeContentsTooSmall Code = "contents-too-small"
	CodeDigestMismatch   Code = "digest-mismatch"
	CodeBadCMS           Code = "bad-cms"
	CodeBadPlan          Code = "bad-plan"
	CodeAlreadySigned    Code = "already-signed"
	CodeNoRoom           Code = "no-room"
	CodeBadImage         Code = "bad-image"
	CodeLimit            Code = "limit"
	// CodeBadValidationData: a certificate, OCSP response or CRL given for the DSS is not one.
	CodeBadValidationData Code = "bad-validation-data"
	// CodeRead: the document's bytes could not be read from the io.ReaderAt it was opened on.
	CodeRead Code = "read-failed"
)

// Error is every error pdfcore returns: a stable code and a sentence a person can act on.
type Error struct {
	Code Code
	Msg  string
	Err  error // the underlying cause, when there is one
}

func (e *Error) Error() string { return fmt.Sprintf("%s (%s)", e.Msg, e.Code) }
func (e *Error) Unwrap() error { return e.Err }

// Is matches on the code, so errors.Is(err, pdfcore.ErrEncrypted) works for any message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Sentinels for errors.Is.
var (
	ErrNotPDF            = &Error{Code: CodeNotPDF}
	ErrEncrypted         = &Error{Code: CodeEncrypted}
	ErrDamagedXref       = &Error{Code: CodeDamagedXref}
	ErrDamagedObject     = &Error{Code: CodeDamagedObject}
	ErrNoChangesAllowed  = &Error{Code: CodeNoChangesAllowed}
	ErrContentsTooSmall  = &Error{Code: CodeContentsTooSmall}
	ErrDigestMismatch    = &Error{Code: CodeDigestMismatch}
	ErrBadCMS            = &Error{Code: CodeBadCMS}
	ErrBadPlan           = &Error{Code: CodeBadPlan}
	ErrAlreadySigned     = &Error{Code: CodeAlreadySigned}
	ErrNoRoom            = &Error{Code: CodeNoRoom}
	ErrBadValidationData = &Error{Code: CodeBadValidationData}
	ErrRead              = &Error{Code: CodeRead}
)

// CodeOf returns the code of err, or "" when it is not a pdfcore error.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func newError(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// readError turns a reader error into a typed one.
func readError(err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	switch {
	case errors.Is(err, pdfread.ErrRead):
		return &Error{Code: CodeRead, Msg: "The document could not be read: " + err.Error(), Err: err}
	case errors.Is(err, pdfread.ErrNotPDF):
		return &Error{Code: CodeNotPDF, Msg: "This file is not a PDF document.", Err: err}
	case errors.Is(err, pdfread.ErrDamagedXref):
		return &Error{Code: CodeDamagedXref, Msg: "The PDF's cross-reference table does not match the file, so it cannot be signed without repairing it first: " + err.Error(), Err: err}
	case errors.Is(err, pdfread.ErrLimit):
		return &Error{Code: CodeLimit, Msg: "The PDF is larger or more deeply nested than this tool accepts: " + err.Error(), Err: err}
	}
	return &Error{Code: CodeDamagedObject, Msg: "The PDF is damaged: " + err.Error(), Err: err}
}

// cmsError turns an error of the cms package into a pdfcore one, keeping digest mismatches
// recognisable.
func cmsError(err error) error {
	var ce *cms.Error
	if errors.As(err, &ce) && ce.Code == "digest-mismatch" {
		return &Error{Code: CodeDigestMismatch, Msg: "The signature was made for a different document digest than the one prepared: " + ce.Msg, Err: err}
	}
	return &Error{Code: CodeBadCMS, Msg: "The returned signature is not a usable CMS: " + err.Error(), Err: err}
}
