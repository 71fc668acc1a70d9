package devpki

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	encasn1 "encoding/asn1"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// Person is the subject of a qualified certificate.
type Person struct {
	GivenName string
	Surname   string
	// SerialNumber is the national registry number; for Country "BE" it must be the 11
	// digits of a checksum-valid Belgian number (see NationalNumber).
	SerialNumber string
	// Country is the ISO 3166 code; empty means "BE".
	Country string
	// Locality is optional, e.g. "Brussel".
	Locality string
}

// PDSURL is the (unresolvable, .invalid) PKI disclosure statement the QcPDS statement names.
const PDSURL = "https://pki.veilsign.invalid/dev/pds-en.pdf"

var (
	oidSurname      = encasn1.ObjectIdentifier{2, 5, 4, 4}
	oidGivenName    = encasn1.ObjectIdentifier{2, 5, 4, 42}
	oidSerialNumber = encasn1.ObjectIdentifier{2, 5, 4, 5}
	oidCommonName   = encasn1.ObjectIdentifier{2, 5, 4, 3}
	oidCountry      = encasn1.ObjectIdentifier{2, 5, 4, 6}
	oidLocality     = encasn1.ObjectIdentifier{2, 5, 4, 7}

	// ETSI EN 319 411-2: QCP-n-qscd, qualified certificate for a natural person, key in a
	// qualified signature creation device.
	oidQCPnQSCD = encasn1.ObjectIdentifier{0, 4, 0, 194112, 1, 2}

	oidQCStatements = encasn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 3}
	// ETSI EN 319 412-5 statements.
	oidQcCompliance = encasn1.ObjectIdentifier{0, 4, 0, 1862, 1, 1}
	oidQcSSCD       = encasn1.ObjectIdentifier{0, 4, 0, 1862, 1, 4}
	oidQcPDS        = encasn1.ObjectIdentifier{0, 4, 0, 1862, 1, 5}
	oidQcType       = encasn1.ObjectIdentifier{0, 4, 0, 1862, 1, 6}
	oidQcTypeESign  = encasn1.ObjectIdentifier{0, 4, 0, 1862, 1, 6, 1}
)

// IssueQualified issues a qualified natural-person certificate with a new RSA-2048 key, as
// itsme® does. Key generation takes around 100 ms; tests that issue many certificates can
// share one key through IssueQualifiedWithKey.
func (p *PKI) IssueQualified(person Person) (*Identity, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	return p.IssueQualifiedWithKey(person, key)
}

// IssueQualifiedWithKey issues a qualified certificate for key (RSA of at least 2048 bits
// or ECDSA): subject C, L, serialNumber, SN, GN, CN; policy QCP-n-qscd; key usage
// digitalSignature and nonRepudiation; QCStatements QcCompliance, QcSSCD, QcType esign and
// QcPDS. The chain is leaf, qualified CA, root.
func (p *PKI) IssueQualifiedWithKey(person Person, key crypto.Signer) (*Identity, error) {
	if key == nil {
		return nil, errors.New("devpki: no key")
	}
	if rk, ok := key.Public().(*rsa.PublicKey); ok && rk.N.BitLen() < 2048 {
		return nil, errors.New("devpki: RSA keys for qualified certificates need at least 2048 bits")
	}
	subject, err := personSubject(person)
	if err != nil {
		return nil, err
	}
	qc, err := qcStatements()
	if err != nil {
		return nil, err
	}
	policy, err := x509.OIDFromInts([]uint64{0, 4, 0, 194112, 1, 2})
	if err != nil {
		return nil, err
	}
	now := time.Now()
	u := p.URLs()
	return issue(&x509.Certificate{
		OCSPServer:            u.ocsp(),
		CRLDistributionPoints: u.crl(u.CRL),
		RawSubject:            subject,
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(leafValidity),
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		Policies:              []x509.OID{policy},
		ExtraExtensions:       []pkix.Extension{{Id: oidQCStatements, Value: qc}},
	}, p.ca, key)
}

// personSubject encodes the subject in itsme®'s order (C, L, serialNumber, SN, GN, CN),
// which pkix.Name cannot express: it always puts its own fields before ExtraNames.
func personSubject(person Person) ([]byte, error) {
	country := person.Country
	if country == "" {
		country = "BE"
	}
	given, surname := strings.TrimSpace(person.GivenName), strings.TrimSpace(person.Surname)
	if given == "" || surname == "" {
		return nil, errors.New("devpki: a person needs a given name and a surname")
	}
	if country == "BE" && !ValidNationalNumber(person.SerialNumber) {
		return nil, fmt.Errorf("devpki: %q is not a valid Belgian national registry number", person.SerialNumber)
	}
	if person.SerialNumber == "" {
		return nil, errors.New("devpki: a person needs a serial number (national registry number)")
	}
	var rdns pkix.RDNSequence
	add := func(oid encasn1.ObjectIdentifier, v string) {
		rdns = append(rdns, pkix.RelativeDistinguishedNameSET{{Type: oid, Value: v}})
	}
	add(oidCountry, country)
	if person.Locality != "" {
		add(oidLocality, person.Locality)
	}
	add(oidSerialNumber, person.SerialNumber)
	add(oidSurname, surname)
	add(oidGivenName, given)
	add(oidCommonName, given+" "+surname)
	return encasn1.Marshal(rdns)
}

// qcStatements encodes the ETSI EN 319 412-5 statements that mark a certificate as EU
// qualified, for electronic signatures, with the key in a QSCD.
func qcStatements() ([]byte, error) {
	statement := func(b *cryptobyte.Builder, oid encasn1.ObjectIdentifier, info cryptobyte.BuilderContinuation) {
		b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oid)
			if info != nil {
				info(b)
			}
		})
	}
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		statement(b, oidQcCompliance, nil)
		statement(b, oidQcSSCD, nil)
		statement(b, oidQcType, func(b *cryptobyte.Builder) {
			b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidQcTypeESign) })
		})
		statement(b, oidQcPDS, func(b *cryptobyte.Builder) {
			b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1(asn1.IA5String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(PDSURL)) })
					b.AddASN1(asn1.PrintableString, func(b *cryptobyte.Builder) { b.AddBytes([]byte("en")) })
				})
			})
		})
	})
	return b.Bytes()
}
