package pdfread

import (
	"errors"
	"fmt"
)

// The reader refuses instead of repairing: a signature must chain onto the bytes that are
// there, so a cross-reference that does not describe the file is an error, never a guess.
var (
	// ErrNotPDF: the bytes do not start like a PDF file.
	ErrNotPDF = errors.New("not a PDF")
	// ErrDamagedXref: the cross-reference data does not describe the file.
	ErrDamagedXref = errors.New("damaged cross-reference")
	// ErrDamagedObject: an object the operation needs cannot be parsed.
	ErrDamagedObject = errors.New("damaged object")
	// ErrLimit: the file asks for more work or memory than the reader allows.
	ErrLimit = errors.New("resource limit exceeded")
	// ErrRead: the file's bytes could not be read from its io.ReaderAt.
	ErrRead = errors.New("read failed")
)

func damagedXref(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrDamagedXref, fmt.Sprintf(format, args...))
}

func damagedObject(num int, format string, args ...any) error {
	return fmt.Errorf("%w: object %d: %s", ErrDamagedObject, num, fmt.Sprintf(format, args...))
}
