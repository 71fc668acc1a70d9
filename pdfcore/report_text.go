package pdfcore

import (
	"fmt"
	"io"
	"strings"
)

// WriteText renders the report for a person, in the words Acrobat's signature panel uses.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintln(w, r.Summary)
	fmt.Fprintf(w, "%d revision(s), %d signature(s)\n", r.Revisions, len(r.Signatures))
	for _, s := range r.Signatures {
		fmt.Fprintln(w)
		title := s.Field
		if s.Reference != "" {
			title = fmt.Sprintf("%s (reference %s on the signature page)", s.Field, s.Reference)
		}
		fmt.Fprintf(w, "%s — revision %d, %s\n", title, s.Revision, methodName(s.Method))
		who := s.Signer.CommonName
		if s.Signer.SerialNumber != "" {
			who += ", serialNumber " + s.Signer.SerialNumber
		}
		if who != "" {
			fmt.Fprintf(w, "  Signed by %s\n", who)
		}
		if s.Issuer != "" {
			trust := "not checked against trust anchors"
			if s.CertificateTrusted {
				trust = "trusted"
			}
			fmt.Fprintf(w, "  Issued by %s (%s)\n", s.Issuer, trust)
		}
		if s.Qualified.QCCompliance {
			q := "Qualified certificate"
			if s.Qualified.QSCD {
				q += ", key in a qualified device (QSCD)"
			}
			if s.Qualified.Type != "" {
				q += ", type " + s.Qualified.Type
			}
			fmt.Fprintf(w, "  %s\n", q)
		}
		if s.SignedAt != "" {
			fmt.Fprintf(w, "  Signing time (claimed by the signer): %s\n", s.SignedAt)
		}
		switch {
		case s.Method == "timestamp":
		case s.Timestamp.Valid:
			fmt.Fprintf(w, "  Signature is timestamped: %s by %s\n", s.Timestamp.Time, s.Timestamp.TSA)
		case s.Timestamp.Present:
			fmt.Fprintf(w, "  The signature's timestamp is NOT valid\n")
		}
		if rv := s.Revocation; rv != nil {
			switch rv.Status {
			case "revoked":
				fmt.Fprintf(w, "  The certificate was REVOKED on %s (%s embedded in the document)\n", rv.RevokedAt, rv.Source)
			case "missing":
				fmt.Fprintf(w, "  No revocation data for the certificate is embedded in the document\n")
			default:
				fmt.Fprintf(w, "  Revocation status at %s: %s (%s of %s embedded in the document)\n", rv.CheckedAt, rv.Status, rv.Source, rv.Updated)
			}
		}
		switch {
		case s.Integrity != "valid":
			fmt.Fprintf(w, "  Signature is INVALID: %s\n", s.Reason)
		case s.Method == "timestamp":
			fmt.Fprintf(w, "  Document timestamp is valid: %s by %s\n", s.Timestamp.Time, s.Timestamp.TSA)
		default:
			fmt.Fprintf(w, "  Signature is valid; level %s\n", s.Level)
		}
		bad := 0
		for _, c := range s.ChangesAfter {
			if !c.Allowed {
				bad++
			}
		}
		switch {
		case len(s.ChangesAfter) == 0 && s.CoversWholeDocument:
			fmt.Fprintln(w, "  The document has not been modified since this signature was applied.")
		case bad == 0:
			fmt.Fprintln(w, "  The revision signed has not been altered; later changes are signatures and validation data only.")
		default:
			fmt.Fprintf(w, "  The document was CHANGED after this signature (%d change(s) not allowed):\n", bad)
		}
		for _, c := range s.ChangesAfter {
			if !c.Allowed {
				fmt.Fprintf(w, "    revision %d: %s — %s\n", c.Revision, c.Kind, c.Detail)
			}
		}
		if s.ChangesNotListed > 0 {
			fmt.Fprintf(w, "  %d more change(s) after this signature are not listed.\n", s.ChangesNotListed)
		}
	}
}

func methodName(m string) string {
	switch m {
	case "itsme":
		return "itsme® qualified signature"
	case "eid":
		return "eID card signature"
	case "pen":
		return "handwritten (pen) signature, sealed"
	case "tan":
		return "SMS/TAN signature, sealed"
	case "x509":
		return "certificate signature"
	case "timestamp":
		return "document timestamp"
	}
	return strings.TrimSpace("signature " + m)
}
