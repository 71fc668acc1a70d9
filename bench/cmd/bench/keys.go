package main

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/veilsign/veilsign/pdfcore/devpki"
)

// keys is the one signing identity every implementation in the sign rows uses: the same
// RSA-2048 key and the same three-certificate chain, in process for ours and pdfsign and as
// PKCS#12 for @signpdf.
type keys struct {
	id      *devpki.Identity // leaf, CA, root; all RSA-2048
	p12     string           // the same key and chain for the Node peer; "" when openssl failed
	p12Pass string
	roots   *x509.CertPool
}

// newKeys makes the bench identity. The dev PKI's CAs are ECDSA, and node-forge (under
// @signpdf/signer-p12) cannot read a certificate signed with ECDSA: it drops it and then
// fails on the null certificate. So the bench builds an all-RSA hierarchy of its own, and
// the leaf carries what the dev signer's qualified certificate carries (itsme®-shaped
// subject, key usage, QCP-n-qscd policy, QCStatements), re-issued under that hierarchy
// with the dev signer's kind of key, RSA-2048.
func newKeys() *keys {
	leafKey, err := rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	pki, err := devpki.New()
	must(err)
	dev, err := pki.IssueQualifiedWithKey(devpki.Person{GivenName: "Jan", Surname: "Peeters",
		SerialNumber: devpki.NationalNumber(time.Date(1989, 11, 24, 0, 0, 0, 0, time.UTC), 335, true)}, leafKey)
	must(err)

	now := time.Now().Add(-time.Hour).Truncate(time.Second)
	root := issueRSA(&x509.Certificate{Subject: benchName("veilsign Bench RSA Root CA"), NotBefore: now,
		NotAfter: now.Add(10 * 365 * 24 * time.Hour), IsCA: true, BasicConstraintsValid: true, MaxPathLen: 1,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}, nil, nil)
	ca := issueRSA(&x509.Certificate{Subject: benchName("veilsign Bench RSA Qualified CA"), NotBefore: now,
		NotAfter: now.Add(9 * 365 * 24 * time.Hour), IsCA: true, BasicConstraintsValid: true, MaxPathLenZero: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}, root, nil)
	q := dev.Chain[0]
	leaf := issueRSA(&x509.Certificate{RawSubject: q.RawSubject, NotBefore: now, NotAfter: now.Add(3 * 365 * 24 * time.Hour),
		BasicConstraintsValid: true, KeyUsage: q.KeyUsage, Policies: q.Policies,
		ExtraExtensions: qcStatementsOf(q)}, ca, leafKey)

	pool := x509.NewCertPool()
	pool.AddCert(root.Chain[0])
	if _, err := leaf.Chain[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: certPool(ca.Chain[0]),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		log.Fatalf("bench chain does not verify: %v", err)
	}
	k := &keys{id: leaf, p12Pass: "bench", roots: pool}
	k.p12 = writePKCS12(leaf, k.p12Pass)
	return k
}

// issueRSA signs template with parent's key (self-signed when parent is nil); key nil means
// a new RSA-2048 key.
func issueRSA(template *x509.Certificate, parent *devpki.Identity, key *rsa.PrivateKey) *devpki.Identity {
	if key == nil {
		var err error
		key, err = rsa.GenerateKey(rand.Reader, 2048)
		must(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	must(err)
	template.SerialNumber = serial.Add(serial, big.NewInt(1))
	spki, err := x509.MarshalPKIXPublicKey(key.Public())
	must(err)
	ski := sha1.Sum(spki) // only an identifier, compared for equality
	template.SubjectKeyId = ski[:]
	issuer, issuerKey, chain := template, crypto.Signer(key), []*x509.Certificate(nil)
	if parent != nil {
		issuer, issuerKey, chain = parent.Chain[0], parent.Key, parent.Chain
	}
	der, err := x509.CreateCertificate(rand.Reader, template, issuer, key.Public(), issuerKey)
	must(err)
	cert, err := x509.ParseCertificate(der)
	must(err)
	return &devpki.Identity{Chain: append([]*x509.Certificate{cert}, chain...), Key: key}
}

var oidQCStatements = []int{1, 3, 6, 1, 5, 5, 7, 1, 3}

func qcStatementsOf(c *x509.Certificate) []pkix.Extension {
	for _, e := range c.Extensions {
		if e.Id.Equal(oidQCStatements) {
			return []pkix.Extension{e}
		}
	}
	log.Fatal("the dev qualified certificate has no QCStatements")
	return nil
}

func benchName(cn string) pkix.Name {
	return pkix.Name{Country: []string{"BE"}, Organization: []string{"veilsign (bench only)"}, CommonName: cn}
}

func certPool(certs ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}

// writePKCS12 exports id for node-forge, which reads only the legacy PBEs (3DES, SHA-1
// MAC). One PBE iteration instead of openssl's 2,048: @signpdf/signer-p12 unlocks the file
// inside every sign call, and node-forge's 2,048 SHA-1 rounds in JavaScript (~20 ms here)
// would be charged to the peer as signing time. It returns the file's path, or "" (the
// Node peer is then skipped) when openssl fails.
func writePKCS12(id *devpki.Identity, pass string) string {
	keyDER, err := x509.MarshalPKCS8PrivateKey(id.Key)
	must(err)
	kp, cp := filepath.Join(*outDir, "signer-key.pem"), filepath.Join(*outDir, "signer-chain.pem")
	must(os.WriteFile(kp, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600))
	var chain bytes.Buffer
	for _, c := range id.Chain {
		must(pem.Encode(&chain, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
	}
	must(os.WriteFile(cp, chain.Bytes(), 0o644))
	p12 := filepath.Join(*outDir, "signer.p12")
	out, err := exec.Command("openssl", "pkcs12", "-export", "-inkey", kp, "-in", cp, "-out", p12,
		"-passout", "pass:"+pass, "-certpbe", "PBE-SHA1-3DES", "-keypbe", "PBE-SHA1-3DES", "-macalg", "sha1",
		"-noiter", "-nomaciter").CombinedOutput()
	if err != nil {
		log.Printf("openssl pkcs12: %v: %s (the Node peer is skipped)", err, bytes.TrimSpace(out))
		return ""
	}
	return p12
}

// describe names the identity for the results' notes.
func (k *keys) describe() string {
	return fmt.Sprintf("key RSA-%d, chain of %d RSA certificates (%s)", k.id.Key.Public().(*rsa.PublicKey).N.BitLen(),
		len(k.id.Chain), k.id.Chain[0].Subject.CommonName)
}
