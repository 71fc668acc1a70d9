// Package image turns the pictures a signature page shows — integrator logos as PNG or JPEG,
// and veilsign's own neutral method marks — into PDF XObjects.
package image

import "fmt"

// Error is why an image cannot be placed. Code is stable (it crosses into JS as error.code);
// compare with errors.Is against ErrUnsupported, ErrTooLarge or ErrCorrupt.
type Error struct {
	Code   string
	Detail string
}

func (e *Error) Error() string { return "image: " + e.Detail }

// Is matches errors of the same Code, so errors.Is(err, ErrTooLarge) holds for every
// oversized image whatever its detail says.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

var (
	// ErrUnsupported: not a PNG or JPEG, or a variant the decoders do not read (12-bit or
	// arithmetic-coded JPEG).
	ErrUnsupported = &Error{Code: "ErrImageUnsupported", Detail: "unsupported image format"}
	// ErrTooLarge: more than MaxSide pixels on a side or more than MaxBytes of data.
	ErrTooLarge = &Error{Code: "ErrImageTooLarge", Detail: "image too large"}
	// ErrCorrupt: the data claims a supported format but does not decode.
	ErrCorrupt = &Error{Code: "ErrImageCorrupt", Detail: "image data damaged"}
)

// Limits on imported images. A logo needs far less; the limits keep a hostile file from
// costing the signing service (or a browser tab running the WASM build) gigabytes: 4096²
// 16-bit RGBA pixels decode to 128 MB.
const (
	MaxSide  = 4096
	MaxBytes = 8 << 20
)

func errorf(kind *Error, format string, args ...any) error {
	return &Error{Code: kind.Code, Detail: fmt.Sprintf(format, args...)}
}
