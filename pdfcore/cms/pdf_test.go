package cms

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/veilsign/veilsign/internal/testtool"
)

var byteRangeRE = regexp.MustCompile(`/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]`)

// pdfSignature is one signature of a PDF as the test finds it: the /Contents bytes (zero
// padded) and the bytes its /ByteRange covers.
type pdfSignature struct {
	br       [4]int
	contents []byte
	signed   []byte
}

// pdfSignatures extracts every signature of a PDF by its /ByteRange: the gap between the two
// ranges is the /Contents hex string.
func pdfSignatures(t *testing.T, data []byte) []pdfSignature {
	t.Helper()
	var out []pdfSignature
	for _, m := range byteRangeRE.FindAllSubmatch(data, -1) {
		var br [4]int
		for i := range br {
			n, err := strconv.Atoi(string(m[i+1]))
			if err != nil {
				t.Fatal(err)
			}
			br[i] = n
		}
		if br[0] != 0 || br[1] < 0 || br[2] < br[1] || br[3] < 0 || br[2]+br[3] > len(data) {
			t.Fatalf("byte range %v outside the file", br)
		}
		gap := bytes.TrimSpace(data[br[1]:br[2]])
		if len(gap) < 2 || gap[0] != '<' || gap[len(gap)-1] != '>' {
			t.Fatalf("the gap of %v is not a hex string", br)
		}
		contents, err := hex.DecodeString(strings.Join(strings.Fields(string(gap[1:len(gap)-1])), ""))
		if err != nil {
			t.Fatal(err)
		}
		signed := append(bytes.Clone(data[br[0]:br[0]+br[1]]), data[br[2]:br[2]+br[3]]...)
		out = append(out, pdfSignature{br, contents, signed})
	}
	return out
}

// pdfsigValid returns, for each signature pdfsig reports, whether it calls it valid, keyed
// by its signed ranges as pdfsig prints them ("[0 - 2937], [8257 - 8552]").
func pdfsigValid(t *testing.T, path string) map[string]bool {
	t.Helper()
	pdfsig := testtool.Require(t, "pdfsig")
	out, _ := exec.Command(pdfsig, path).CombinedOutput() // exits non-zero for some documents
	valid := map[string]bool{}
	for _, block := range strings.Split(string(out), "Signature #")[1:] {
		_, ranges, ok := strings.Cut(block, "Signed Ranges: ")
		if !ok {
			continue
		}
		ranges, _, _ = strings.Cut(ranges, "\n")
		valid[strings.TrimSpace(ranges)] = strings.Contains(block, "Signature Validation: Signature is Valid.")
	}
	if len(valid) == 0 {
		t.Fatalf("pdfsig reports no signature in %s:\n%s", path, out)
	}
	return valid
}

// TestPDFSignatures reads the signatures that other tools made in the test corpus (NSS via
// pdfsig writes BER; LibreOffice writes DER with signing-time and no signing certificate
// attribute) and checks that every one pdfsig calls valid verifies here too.
func TestPDFSignatures(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "pdf")
	files, err := filepath.Glob(filepath.Join(dir, "signed-pdfsig-*.pdf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no signed-pdfsig-*.pdf in %s (%v)", dir, err)
	}
	files = append(files, filepath.Join(dir, "certified-p2-docmdp-libreoffice-form.pdf"), filepath.Join(dir, "fail-certified-p1.pdf"))
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			valid := pdfsigValid(t, path)
			sigs := pdfSignatures(t, data)
			if len(sigs) == 0 || len(sigs) != len(valid) {
				t.Fatalf("%d byte ranges, pdfsig reports %d signatures", len(sigs), len(valid))
			}
			for i, s := range sigs {
				key := fmt.Sprintf("[%d - %d], [%d - %d]", s.br[0], s.br[0]+s.br[1], s.br[2], s.br[2]+s.br[3])
				ok, known := valid[key]
				if !known {
					t.Fatalf("signature %d (%s) is not among pdfsig's %v", i+1, key, valid)
				}
				if !ok {
					t.Logf("signature %d: pdfsig does not call it valid; not checked", i+1)
					continue
				}
				sig, err := Parse(s.contents)
				if err != nil {
					t.Fatalf("signature %d: %v", i+1, err)
				}
				if !bytes.HasPrefix(s.contents, sig.Raw) || !allZero(s.contents[len(sig.Raw):]) {
					t.Fatalf("signature %d: Raw is not the /Contents without its padding", i+1)
				}
				w := sig.DigestAlgorithm.New()
				w.Write(s.signed)
				digest := w.Sum(nil)
				if err := sig.CheckDigest(digest); err != nil {
					t.Fatalf("signature %d: %v", i+1, err)
				}
				if err := sig.Verify(); err != nil {
					t.Fatalf("signature %d: %v", i+1, err)
				}
				if sig.Signer == nil || !strings.Contains(sig.Signer.Subject.CommonName, "veilsign test signer") {
					t.Fatalf("signature %d: signer %v", i+1, sig.Signer)
				}
				// One changed byte in the signed ranges is caught.
				w.Reset()
				w.Write(append(bytes.Clone(s.signed[:len(s.signed)-1]), s.signed[len(s.signed)-1]^1))
				wantCode(t, sig.CheckDigest(w.Sum(nil)), CodeDigestMismatch)

				baseline := sig.PAdESBaseline()
				t.Logf("signature %d: %d bytes (%s), %v, signing-certificate-v2 %v, signing time %v, PAdES baseline: %v",
					i+1, len(sig.Raw), map[bool]string{true: "DER", false: "BER"}[isDER(sig.Raw)], sig.DigestAlgorithm,
					sig.HasSigningCertV2, sig.SigningTime, baseline)
				switch {
				case strings.Contains(path, "signed-pdfsig-"):
					// NSS writes BER with signing-certificate-v2.
					if isDER(sig.Raw) || baseline != nil {
						t.Fatalf("signature %d: expected BER meeting the baseline profile; DER %v, %v", i+1, isDER(sig.Raw), baseline)
					}
				default:
					// LibreOffice: DER, signing-time, no signing certificate attribute.
					if sig.SigningTime.IsZero() || CodeOf(baseline) != CodeSigningCertMismatch {
						t.Fatalf("signature %d: signing time %v, baseline %v", i+1, sig.SigningTime, baseline)
					}
				}
			}
		})
	}
}

func isDER(b []byte) bool {
	der, n, err := normalizeBER(b)
	return err == nil && n == len(b) && bytes.Equal(der, b)
}
