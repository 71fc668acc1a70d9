package devpki

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// The blob is plain PEM so a developer can read it with openssl; each block says which
// identity it belongs to in a "Role" header.
const roleHeader = "Role"

var roles = []string{"root", "ca", "seal", "tsa"}

// Marshal returns the whole PKI (certificates, and PKCS#8 private keys, unencrypted: this
// is development material) as PEM.
func (p *PKI) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	for i, id := range []*Identity{p.root, p.ca, p.seal, p.tsa} {
		if err := writeIdentity(&buf, roles[i], id.Chain[:1], id.Key); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// Unmarshal reads what Marshal wrote and checks that it still fits together: every key
// matches its certificate and every certificate is signed by its issuer.
func Unmarshal(data []byte) (*PKI, error) {
	certs := map[string]*x509.Certificate{}
	keys := map[string]crypto.Signer{}
	if err := readBlocks(data, func(role string, cert *x509.Certificate, key crypto.Signer) error {
		if cert != nil {
			if certs[role] != nil {
				return fmt.Errorf("devpki: two %s certificates", role)
			}
			certs[role] = cert
		} else {
			if keys[role] != nil {
				return fmt.Errorf("devpki: two %s keys", role)
			}
			keys[role] = key
		}
		return nil
	}); err != nil {
		return nil, err
	}
	ids := map[string]*Identity{}
	for _, role := range roles {
		if certs[role] == nil || keys[role] == nil {
			return nil, fmt.Errorf("devpki: the %s certificate or key is missing", role)
		}
		ids[role] = &Identity{Chain: []*x509.Certificate{certs[role]}, Key: keys[role]}
	}
	p := &PKI{root: ids["root"], ca: ids["ca"], seal: ids["seal"], tsa: ids["tsa"]}
	for _, link := range []struct{ child, parent *Identity }{{p.ca, p.root}, {p.seal, p.ca}, {p.tsa, p.ca}} {
		if err := link.child.Chain[0].CheckSignatureFrom(link.parent.Chain[0]); err != nil {
			return nil, fmt.Errorf("devpki: %q is not issued by %q: %w", link.child.Chain[0].Subject.CommonName, link.parent.Chain[0].Subject.CommonName, err)
		}
		link.child.Chain = append(link.child.Chain, link.parent.Chain...)
	}
	for _, role := range roles {
		if err := checkKey(ids[role]); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// MarshalPEM returns the identity's chain and PKCS#8 key as PEM, so that a simulator can
// keep a person's qualified identity between runs.
func (id *Identity) MarshalPEM() ([]byte, error) {
	var buf bytes.Buffer
	if err := writeIdentity(&buf, "identity", id.Chain, id.Key); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// UnmarshalIdentity reads what MarshalPEM wrote: certificates in chain order and one key
// matching the first.
func UnmarshalIdentity(data []byte) (*Identity, error) {
	id := &Identity{}
	if err := readBlocks(data, func(_ string, cert *x509.Certificate, key crypto.Signer) error {
		if cert != nil {
			id.Chain = append(id.Chain, cert)
		} else if id.Key != nil {
			return errors.New("devpki: more than one key")
		} else {
			id.Key = key
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if len(id.Chain) == 0 || id.Key == nil {
		return nil, errors.New("devpki: an identity needs a certificate and a key")
	}
	return id, checkKey(id)
}

func writeIdentity(buf *bytes.Buffer, role string, chain []*x509.Certificate, key crypto.Signer) error {
	for _, c := range chain {
		if err := pem.Encode(buf, &pem.Block{Type: "CERTIFICATE", Headers: map[string]string{roleHeader: role}, Bytes: c.Raw}); err != nil {
			return err
		}
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("devpki: %s key: %w", role, err)
	}
	return pem.Encode(buf, &pem.Block{Type: "PRIVATE KEY", Headers: map[string]string{roleHeader: role}, Bytes: der})
}

func readBlocks(data []byte, fn func(role string, cert *x509.Certificate, key crypto.Signer) error) error {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		role := block.Headers[roleHeader]
		switch block.Type {
		case "CERTIFICATE":
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return fmt.Errorf("devpki: %s certificate: %w", role, err)
			}
			if err := fn(role, cert, nil); err != nil {
				return err
			}
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return fmt.Errorf("devpki: %s key: %w", role, err)
			}
			signer, ok := k.(crypto.Signer)
			if !ok {
				return fmt.Errorf("devpki: %s key of type %T cannot sign", role, k)
			}
			if err := fn(role, nil, signer); err != nil {
				return err
			}
		default:
			return fmt.Errorf("devpki: unexpected PEM block %q", block.Type)
		}
	}
	if len(bytes.TrimSpace(data)) != 0 {
		return errors.New("devpki: data that is not PEM")
	}
	return nil
}

func checkKey(id *Identity) error {
	pub, ok := id.Key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(id.Chain[0].PublicKey) {
		return fmt.Errorf("devpki: the key does not belong to %q", id.Chain[0].Subject.CommonName)
	}
	return nil
}
