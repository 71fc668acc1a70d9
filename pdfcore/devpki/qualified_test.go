package devpki

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"os/exec"
	"strings"
	"testing"

	"github.com/veilsign/veilsign/internal/testtool"
)

var anna = Person{GivenName: "Anna", Surname: "Peeters", SerialNumber: "89112433518", Country: "BE", Locality: "Brussel"}

func TestIssueQualified(t *testing.T) {
	p := newPKI(t)
	id, err := p.IssueQualified(anna)
	if err != nil {
		t.Fatal(err)
	}
	verifyChain(t, p, id, x509.ExtKeyUsageAny)
	leaf := id.Certificate()
	if k, ok := leaf.PublicKey.(*rsa.PublicKey); !ok || k.N.BitLen() != 2048 {
		t.Fatalf("key %T", leaf.PublicKey)
	}
	if leaf.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment {
		t.Fatalf("key usage %v", leaf.KeyUsage)
	}
	if len(leaf.Policies) != 1 || leaf.Policies[0].String() != "0.4.0.194112.1.2" {
		t.Fatalf("policies %v", leaf.Policies)
	}

	// Subject attributes in itsme's order.
	var rdns pkix.RDNSequence
	if _, err := asn1.Unmarshal(leaf.RawSubject, &rdns); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, rdn := range rdns {
		got = append(got, rdn[0].Type.String()+"="+rdn[0].Value.(string))
	}
	want := "2.5.4.6=BE 2.5.4.7=Brussel 2.5.4.5=89112433518 2.5.4.4=Peeters 2.5.4.42=Anna 2.5.4.3=Anna Peeters"
	if strings.Join(got, " ") != want {
		t.Fatalf("subject %v", got)
	}

	// QCStatements, decoded with encoding/asn1 rather than the encoder's own library.
	type statement struct {
		ID   asn1.ObjectIdentifier
		Info asn1.RawValue `asn1:"optional"`
	}
	var stmts []statement
	var found bool
	for _, e := range leaf.Extensions {
		if e.Id.String() == "1.3.6.1.5.5.7.1.3" {
			found = !e.Critical
			if _, err := asn1.Unmarshal(e.Value, &stmts); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !found || len(stmts) != 4 {
		t.Fatalf("QCStatements %v", stmts)
	}
	var qcType []asn1.ObjectIdentifier
	if _, err := asn1.Unmarshal(stmts[2].Info.FullBytes, &qcType); err != nil || len(qcType) != 1 || qcType[0].String() != "0.4.0.1862.1.6.1" {
		t.Fatalf("QcType %v %v", qcType, err)
	}
	var pds []struct {
		URL  string `asn1:"ia5"`
		Lang string `asn1:"printable"`
	}
	if _, err := asn1.Unmarshal(stmts[3].Info.FullBytes, &pds); err != nil || len(pds) != 1 || pds[0].URL != PDSURL || pds[0].Lang != "en" {
		t.Fatalf("QcPDS %v %v", pds, err)
	}
	for i, oid := range []string{"0.4.0.1862.1.1", "0.4.0.1862.1.4", "0.4.0.1862.1.6", "0.4.0.1862.1.5"} {
		if stmts[i].ID.String() != oid {
			t.Fatalf("statement %d is %v, want %s", i, stmts[i].ID, oid)
		}
	}
}

func TestQualifiedOpenSSL(t *testing.T) {
	p := newPKI(t)
	openssl := testtool.Require(t, "openssl")
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	id, err := p.IssueQualifiedWithKey(Person{GivenName: "Zoë", Surname: "Dupont-Müller", SerialNumber: "89112433518"}, key)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(openssl, "x509", "-noout", "-text", "-nameopt", "RFC2253,-esc_msb", "-certopt", "ext_parse")
	cmd.Stdin = strings.NewReader(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: id.Certificate().Raw})))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	text := string(out)
	for _, want := range []string{
		"Subject: CN=Zoë Dupont-Müller,GN=Zoë,SN=Dupont-Müller,serialNumber=89112433518,C=BE",
		"Policy: 0.4.0.194112.1.2",
		"Digital Signature, Non Repudiation",
		"qcStatements",
		":0.4.0.1862.1.1", ":0.4.0.1862.1.4", ":0.4.0.1862.1.6", ":0.4.0.1862.1.6.1", ":0.4.0.1862.1.5",
		":" + PDSURL,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("openssl x509 -text lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(text)
	}
}

func TestIssueQualifiedRefuses(t *testing.T) {
	p := newPKI(t)
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	for name, tc := range map[string]struct {
		person Person
		key    *rsa.PrivateKey
	}{
		"bad checksum":  {Person{GivenName: "A", Surname: "B", SerialNumber: "89112433519"}, key},
		"no surname":    {Person{GivenName: "A", SerialNumber: "89112433518"}, key},
		"small RSA key": {anna, small},
	} {
		if _, err := p.IssueQualifiedWithKey(tc.person, tc.key); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
