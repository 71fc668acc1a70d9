package pdfcore

import (
	"crypto/x509"
	"time"
)

// VerifyOptions tune Verify.
type VerifyOptions struct {
	// Roots are the trust anchors for certificateTrusted. Nil means no trust is judged: the
	// report then says certificateTrusted false and validity rests on integrity and
	// changes alone. The dev CA is trusted only when the caller passes it here.
	Roots *x509.CertPool
}

// Report is the verification of every signature of a document. Its JSON field names are
// fixed: scripts read them.
type Report struct {
	Valid      bool              `json:"valid"`
	Summary    string            `json:"summary"`
	Revisions  int               `json:"revisions"`
	Signatures []SignatureReport `json:"signatures"`
}

// SignatureReport is one signature's verification.
type SignatureReport struct {
	Field               string          `json:"field"`
	Reference           string          `json:"reference,omitempty"`
	Method              string          `json:"method"`
	Revision            int             `json:"revision"`
	ByteRange           []int64         `json:"byteRange"`
	CoversRevision      bool            `json:"coversRevision"`
	CoversWholeDocument bool            `json:"coversWholeDocument"`
	Integrity           string          `json:"integrity"`
	Reason              string          `json:"reason,omitempty"`
	Signer              Subject         `json:"signer"`
	Issuer              string          `json:"issuer"`
	CertificateTrusted  bool            `json:"certificateTrusted"`
	Qualified           Qualified       `json:"qualified"`
	SignedAt            string          `json:"signedAt,omitempty"`
	Timestamp           TimestampReport `json:"timestamp"`
	Level               string          `json:"level"`
	// ChangesAfter lists what later revisions changed, in revision order: at most
	// MaxChangesListed (fewer in a report of hundreds of signatures), those not allowed
	// first when there are more.
	ChangesAfter []Change `json:"changesAfter"`
	// ChangesNotListed counts the changes after this signature that ChangesAfter leaves out.
	ChangesNotListed int `json:"changesNotListed,omitempty"`
	// Revocation is set when the document carries validation data (a DSS).
	Revocation *RevocationReport `json:"revocation,omitempty"`
}

// Subject is the signer as the certificate names them.
type Subject struct {
	CommonName   string `json:"commonName"`
	GivenName    string `json:"givenName,omitempty"`
	Surname      string `json:"surname,omitempty"`
	SerialNumber string `json:"serialNumber,omitempty"`
	Country      string `json:"country,omitempty"`
	Organization string `json:"organization,omitempty"`
}

// Qualified is what the certificate's QCStatements declare (ETSI EN 319 412-5).
type Qualified struct {
	QCCompliance bool   `json:"qcCompliance"`
	QSCD         bool   `json:"qscd"`
	Type         string `json:"type,omitempty"` // esign, eseal, web
}

// TimestampReport describes the signature time-stamp (RFC 3161).
type TimestampReport struct {
	Present bool   `json:"present"`
	Valid   bool   `json:"valid"`
	Time    string `json:"time,omitempty"`
	TSA     string `json:"tsa,omitempty"`
}

// Change is one thing a later revision did after a signature.
type Change struct {
	Revision int    `json:"revision"`
	Kind     string `json:"kind"`
	Allowed  bool   `json:"allowed"`
	Detail   string `json:"detail"`
}

// Change kinds. The first four are what may follow a signature; the rest are changes after
// signing that Acrobat would report.
const (
	ChangeSignatureFieldFilled = "signature-field-filled"
	ChangeSignatureFieldAdded  = "signature-field-added"
	ChangeDSSAdded             = "dss-added"
	ChangeDocumentTimestamp    = "document-timestamp"
	ChangeMetadata             = "metadata-changed"
	ChangePageContent          = "page-content-changed"
	ChangePageAdded            = "page-added"
	ChangePageRemoved          = "page-removed"
	ChangeAnnotationAdded      = "annotation-added"
	ChangeAnnotationChanged    = "annotation-changed"
	ChangeObjectRedefined      = "object-redefined"
	ChangeCatalog              = "catalog-changed"
	ChangeAcroFormField        = "acroform-field-changed"
	ChangeXrefOnly             = "xref-only"
)

// Summaries, as Acrobat words them.
const (
	SummaryValid    = "Signed and all signatures are valid."
	SummaryInvalid  = "At least one signature is invalid."
	SummaryChanged  = "Signed, but the document was changed after signing."
	SummaryUntrust  = "Signed, but at least one signer's certificate is not trusted."
	SummaryUnsigned = "The document is not signed."
)

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
