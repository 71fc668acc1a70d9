package pdfcore_test

// Helpers for the interop and error tests: the shared dev PKI, one signing step, and thin
// wrappers around programs nobody here wrote (poppler's pdfsig, pdfinfo, pdftotext,
// pdftoppm; qpdf; openssl) with parsers for what they print.

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	encasn1 "encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/digitorus/pkcs7"
	"github.com/veilsign/veilsign/pdfcore"
	"github.com/veilsign/veilsign/pdfcore/cms"
	"github.com/veilsign/veilsign/pdfcore/devpki"
)

// Signer names in Latin with diacritics, Greek and Cyrillic: they must render and come back
// from pdftotext exactly.
const (
	nameA = "Zoë Ångström-Łukasiewicz"
	nameB = "Αλέξανδρος Παπαδόπουλος"
	nameC = "Анна Ковальчук"
)

// devFixture is one dev PKI for the whole test binary: one qualified identity (one RSA key,
// whose generation is the slow part) and the service seal.
type devFixture struct {
	pki   *devpki.PKI
	itsme *devpki.Identity // qualified, for signer A
	seal  *devpki.Identity // pen and TAN signers B and C
}

var (
	fixtureOnce sync.Once
	fixture     *devFixture
	fixtureErr  error
)

func sharedPKI(t testing.TB) *devFixture {
	t.Helper()
	fixtureOnce.Do(func() {
		pki, err := devpki.New()
		if err != nil {
			fixtureErr = err
			return
		}
		id, err := pki.IssueQualified(devpki.Person{GivenName: "Zoë", Surname: "Ångström-Łukasiewicz",
			SerialNumber: devpki.NationalNumber(time.Date(1987, 3, 14, 0, 0, 0, 0, time.UTC), 42, false)})
		if err != nil {
			fixtureErr = err
			return
		}
		fixture = &devFixture{pki: pki, itsme: id, seal: pki.Seal()}
	})
	if fixtureErr != nil {
		t.Fatalf("dev PKI: %v", fixtureErr)
	}
	return fixture
}

// writeRoot writes the dev root in PEM into dir, for openssl -CAfile; the seal and the TSA
// are issued under it too.
func (fx *devFixture) writeRoot(t testing.TB, dir string) string {
	return writeTemp(t, dir, "root.pem", fx.pki.RootPEM())
}

// signResult is one signing step's output.
type signResult struct {
	Out      []byte
	Prepared *pdfcore.Prepared
	CMS      []byte
}

// signStep runs Open, Prepare, CMS signing, the B-T timestamp and Embed on in. It checks
// that none of them changes in (nor Embed the prepared update) and that in is a prefix of
// the output; those failures are reported on t. An error of pdfcore is returned as is.
func signStep(t testing.TB, fx *devFixture, in []byte, plan *pdfcore.Plan, label string, id *devpki.Identity, opts pdfcore.Options) (*signResult, error) {
	t.Helper()
	keep := bytes.Clone(in)
	defer func() {
		if !bytes.Equal(in, keep) {
			t.Errorf("signer %s: the input slice was modified by Open/Prepare/Embed", label)
		}
	}()
	doc, err := pdfcore.Open(in)
	if err != nil {
		return nil, err
	}
	p, err := pdfcore.Prepare(doc, plan, label, id.Chain, opts)
	if err != nil {
		return nil, err
	}
	der, err := cms.Sign(p.Digest, crypto.SHA256, id.Chain, id.Key)
	if err != nil {
		t.Fatalf("cms.Sign: %v", err)
	}
	imp, err := cms.TimestampImprint(der, crypto.SHA256)
	if err != nil {
		t.Fatalf("cms.TimestampImprint: %v", err)
	}
	tok, err := fx.pki.Timestamp(imp, crypto.SHA256, opts.Time)
	if err != nil {
		t.Fatalf("dev TSA: %v", err)
	}
	if der, err = cms.AddTimestamp(der, tok); err != nil {
		t.Fatalf("cms.AddTimestamp: %v", err)
	}
	update := bytes.Clone(p.Update)
	derKeep := bytes.Clone(der)
	out, err := pdfcore.Embed(p, der)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(p.Update, update) {
		t.Errorf("signer %s: Embed modified Prepared.Update", label)
	}
	if !bytes.Equal(der, derKeep) {
		t.Errorf("signer %s: Embed modified the CMS slice", label)
	}
	if !bytes.HasPrefix(out, in) {
		t.Errorf("signer %s: the input is not a prefix of the output", label)
	}
	return &signResult{Out: out, Prepared: p, CMS: der}, nil
}

// ---- running outside programs ----

type runResult struct {
	Stdout, Stderr string
	Code           int
}

func run(t testing.TB, name string, args ...string) runResult {
	t.Helper()
	cmd := exec.Command(name, args...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	r := runResult{Stdout: so.String(), Stderr: se.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	default:
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return r
}

func writeTemp(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// ---- pdfsig ----

// pdfsigSig is one "Signature #n" block of pdfsig's output.
type pdfsigSig struct {
	Field      string
	Signed     bool // false for "The signature form field is not signed."
	Ranges     [4]int64
	Total      bool // "Total document signed"
	NotTotal   bool // "Not total document signed"
	Validation string
}

var (
	reSigHeader = regexp.MustCompile(`^Signature #\d+:`)
	reRanges    = regexp.MustCompile(`\[(\d+) - (\d+)\], \[(\d+) - (\d+)\]`)
)

func parsePdfsig(out string) []pdfsigSig {
	var sigs []pdfsigSig
	var cur *pdfsigSig
	for _, line := range strings.Split(out, "\n") {
		l := strings.TrimSpace(line)
		if reSigHeader.MatchString(l) {
			sigs = append(sigs, pdfsigSig{})
			cur = &sigs[len(sigs)-1]
			continue
		}
		if cur == nil {
			continue
		}
		l = strings.TrimPrefix(l, "- ")
		switch {
		case strings.HasPrefix(l, "Signature Field Name:"):
			cur.Field = strings.TrimSpace(strings.TrimPrefix(l, "Signature Field Name:"))
		case strings.HasPrefix(l, "Signed Ranges:"):
			if m := reRanges.FindStringSubmatch(l); m != nil {
				for i := 0; i < 4; i++ {
					cur.Ranges[i], _ = strconv.ParseInt(m[i+1], 10, 64)
				}
			}
		case l == "Total document signed":
			cur.Total = true
		case l == "Not total document signed":
			cur.NotTotal = true
		case strings.HasPrefix(l, "Signature Validation:"):
			cur.Signed = true
			cur.Validation = strings.TrimSpace(strings.TrimPrefix(l, "Signature Validation:"))
		}
	}
	return sigs
}

func signedOnly(sigs []pdfsigSig) []pdfsigSig {
	var out []pdfsigSig
	for _, s := range sigs {
		if s.Signed {
			out = append(out, s)
		}
	}
	return out
}

// ---- qpdf ----

// qpdfCheck runs qpdf --check and returns its exit code and the warning lines with the file
// name taken out, so the same warning on input and output compares equal.
func qpdfCheck(t testing.TB, qpdf, path string) (int, []string, string) {
	t.Helper()
	r := run(t, qpdf, "--check", path)
	var warn []string
	for _, l := range strings.Split(r.Stdout+"\n"+r.Stderr, "\n") {
		l = strings.TrimSpace(strings.ReplaceAll(l, path, "FILE"))
		switch {
		case l == "qpdf: operation succeeded with warnings":
		case strings.HasPrefix(l, "WARNING"), strings.HasPrefix(l, "ERROR"), strings.HasPrefix(l, "qpdf:"):
			warn = append(warn, l)
		}
	}
	return r.Code, warn, r.Stdout + r.Stderr
}

// ---- CMS extraction and openssl ----

var reByteRange = regexp.MustCompile(`/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]`)

// findByteRange finds, by a plain byte search, the /ByteRange written in file[from:].
func findByteRange(file []byte, from int) ([4]int64, error) {
	ms := reByteRange.FindAllSubmatch(file[from:], -1)
	if len(ms) != 1 {
		return [4]int64{}, fmt.Errorf("%d /ByteRange entries in the revision, want 1", len(ms))
	}
	var br [4]int64
	for i := 0; i < 4; i++ {
		br[i], _ = strconv.ParseInt(string(ms[0][i+1]), 10, 64)
	}
	return br, nil
}

// extractSignature returns the DER CMS in /Contents (padding removed) and the signed bytes.
func extractSignature(file []byte, br [4]int64) (der, signed []byte, err error) {
	if br[0] != 0 || br[1] <= 0 || br[2] <= br[1]+2 || br[2]+br[3] > int64(len(file)) {
		return nil, nil, fmt.Errorf("implausible /ByteRange %v for a file of %d bytes", br, len(file))
	}
	gap := file[br[1]:br[2]]
	if gap[0] != '<' || gap[len(gap)-1] != '>' {
		return nil, nil, fmt.Errorf("the /ByteRange gap is not a hex string: %q…", gap[:min(len(gap), 16)])
	}
	raw, err := hex.DecodeString(string(gap[1 : len(gap)-1]))
	if err != nil {
		return nil, nil, fmt.Errorf("/Contents: %v", err)
	}
	var v encasn1.RawValue
	if _, err := encasn1.Unmarshal(raw, &v); err != nil {
		return nil, nil, fmt.Errorf("/Contents is not DER: %v", err)
	}
	signed = append(bytes.Clone(file[:br[1]]), file[br[2]:br[2]+br[3]]...)
	return v.FullBytes, signed, nil
}

// opensslVerify runs openssl cms -verify on a detached signature with the dev root.
func opensslVerify(t testing.TB, openssl, dir, root string, der, signed []byte, tag string) (bool, string) {
	t.Helper()
	sig := writeTemp(t, dir, tag+".der", der)
	content := writeTemp(t, dir, tag+".bin", signed)
	r := run(t, openssl, "cms", "-verify", "-binary", "-inform", "DER", "-in", sig, "-content", content,
		"-CAfile", root, "-purpose", "any", "-out", os.DevNull)
	out := r.Stdout + r.Stderr
	return r.Code == 0 && strings.Contains(out, "Verification successful"), out
}

var oidSignatureTimeStampToken = encasn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 14}

// opensslTimestamp finds the signature-time-stamp of der with an independent CMS parser
// (digitorus/pkcs7) and has openssl ts -verify check it against the hash of the signature
// value and the dev root.
func opensslTimestamp(t testing.TB, openssl, dir, root string, der []byte, tag string) (bool, string) {
	t.Helper()
	p7, err := pkcs7.Parse(der)
	if err != nil {
		return false, "pkcs7.Parse: " + err.Error()
	}
	if len(p7.Signers) != 1 {
		return false, fmt.Sprintf("%d SignerInfos", len(p7.Signers))
	}
	si := p7.Signers[0]
	var token []byte
	for _, a := range si.UnauthenticatedAttributes {
		if a.Type.Equal(oidSignatureTimeStampToken) {
			token = a.Value.Bytes
		}
	}
	if token == nil {
		return false, "no signature-time-stamp unsigned attribute (not B-T)"
	}
	sum := sha256.Sum256(si.EncryptedDigest)
	tok := writeTemp(t, dir, tag+".tst", token)
	r := run(t, openssl, "ts", "-verify", "-digest", hex.EncodeToString(sum[:]), "-in", tok, "-token_in", "-CAfile", root)
	out := r.Stdout + r.Stderr
	return r.Code == 0 && strings.Contains(out, "Verification: OK"), out
}

// ---- pdfinfo ----

// pageBox is what pdfinfo -box says about one page.
type pageBox struct {
	Media, Crop pdfcore.Rect
	Rotate      int
}

var rePageLine = regexp.MustCompile(`^Page\s+(\d+)\s+(rot|MediaBox|CropBox):\s+(.*)$`)

// pageBoxes returns pdfinfo's boxes for pages first..last.
func pageBoxes(t testing.TB, pdfinfo, path string, first, last int) map[int]*pageBox {
	t.Helper()
	r := run(t, pdfinfo, "-box", "-f", strconv.Itoa(first), "-l", strconv.Itoa(last), path)
	if r.Code != 0 {
		t.Fatalf("pdfinfo %s: exit %d: %s", path, r.Code, r.Stderr)
	}
	boxes := map[int]*pageBox{}
	for _, l := range strings.Split(r.Stdout, "\n") {
		m := rePageLine.FindStringSubmatch(strings.TrimSpace(l))
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		b := boxes[n]
		if b == nil {
			b = &pageBox{}
			boxes[n] = b
		}
		switch m[2] {
		case "rot":
			b.Rotate, _ = strconv.Atoi(strings.TrimSpace(m[3]))
			b.Rotate = ((b.Rotate % 360) + 360) % 360
		case "MediaBox", "CropBox":
			f := strings.Fields(m[3])
			if len(f) != 4 {
				continue
			}
			var v [4]float64
			for i := range f {
				v[i], _ = strconv.ParseFloat(f[i], 64)
			}
			r := pdfcore.Rect{LLX: v[0], LLY: v[1], URX: v[2], URY: v[3]}
			if m[2] == "MediaBox" {
				b.Media = r
			} else {
				b.Crop = r
			}
		}
	}
	return boxes
}

func pageCount(t testing.TB, pdfinfo, path string) int {
	t.Helper()
	r := run(t, pdfinfo, path)
	for _, l := range strings.Split(r.Stdout, "\n") {
		if strings.HasPrefix(l, "Pages:") {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(l, "Pages:")))
			return n
		}
	}
	t.Fatalf("pdfinfo %s: no page count (exit %d): %s", path, r.Code, r.Stderr)
	return 0
}

// fieldRects picks two non-overlapping rectangles inside the visible part (MediaBox ∩
// CropBox) of a page, each at most 180×40 points and at least 20×10 as the page is shown:
// on a page turned by 90° or 270° they are tall in user space, so they read wide on screen.
func fieldRects(b *pageBox) (pdfcore.Rect, pdfcore.Rect) {
	v := b.Media
	if b.Crop.URX > b.Crop.LLX && b.Crop.URY > b.Crop.LLY {
		v.LLX, v.LLY = math.Max(v.LLX, b.Crop.LLX), math.Max(v.LLY, b.Crop.LLY)
		v.URX, v.URY = math.Min(v.URX, b.Crop.URX), math.Min(v.URY, b.Crop.URY)
	}
	turned := b.Rotate == 90 || b.Rotate == 270
	w, h := v.URX-v.LLX, v.URY-v.LLY
	if turned {
		w, h = h, w // as shown
	}
	m := math.Min(18, w*0.05)
	fw := math.Floor(math.Min(180, (w-3*m)/2))
	fh := math.Floor(math.Min(40, h*0.2))
	x0, y0 := math.Ceil(v.LLX+m), math.Ceil(v.LLY+m)
	if turned {
		a := pdfcore.Rect{LLX: x0, LLY: y0, URX: x0 + fh, URY: y0 + fw}
		by := math.Ceil(a.URY + m)
		return a, pdfcore.Rect{LLX: x0, LLY: by, URX: x0 + fh, URY: by + fw}
	}
	a := pdfcore.Rect{LLX: x0, LLY: y0, URX: x0 + fw, URY: y0 + fh}
	bx := math.Ceil(a.URX + m)
	return a, pdfcore.Rect{LLX: bx, LLY: y0, URX: bx + fw, URY: y0 + fh}
}

// ---- rendering ----

// gray is a PGM image.
type gray struct {
	W, H int
	Pix  []byte
}

func parsePGM(data []byte) (*gray, error) {
	// P5, width, height, maxval, one whitespace byte, then the pixels.
	var fields []string
	i := 0
	for len(fields) < 4 && i < len(data) {
		for i < len(data) && (data[i] == ' ' || data[i] == '\n' || data[i] == '\r' || data[i] == '\t') {
			i++
		}
		if i < len(data) && data[i] == '#' {
			for i < len(data) && data[i] != '\n' {
				i++
			}
			continue
		}
		j := i
		for j < len(data) && !(data[j] == ' ' || data[j] == '\n' || data[j] == '\r' || data[j] == '\t') {
			j++
		}
		fields = append(fields, string(data[i:j]))
		i = j
	}
	if len(fields) != 4 || fields[0] != "P5" {
		return nil, fmt.Errorf("not a binary PGM")
	}
	w, _ := strconv.Atoi(fields[1])
	h, _ := strconv.Atoi(fields[2])
	if fields[3] != "255" || w <= 0 || h <= 0 {
		return nil, fmt.Errorf("unsupported PGM header %v", fields)
	}
	i++ // the single whitespace after maxval
	if len(data)-i < w*h {
		return nil, fmt.Errorf("PGM has %d pixel bytes, want %d", len(data)-i, w*h)
	}
	return &gray{W: w, H: h, Pix: data[i : i+w*h]}, nil
}

var rePGMName = regexp.MustCompile(`-(\d+)\.pgm$`)

// render runs pdftoppm -r 50 -gray on pages 1..last and returns the images by page number.
func render(t testing.TB, pdftoppm, path, dir string, last int) map[int]*gray {
	t.Helper()
	prefix := filepath.Join(dir, "page")
	r := run(t, pdftoppm, "-r", "50", "-gray", "-f", "1", "-l", strconv.Itoa(last), path, prefix)
	if r.Code != 0 {
		t.Fatalf("pdftoppm %s: exit %d: %s", path, r.Code, r.Stderr)
	}
	names, _ := filepath.Glob(prefix + "-*.pgm")
	sort.Strings(names)
	pages := map[int]*gray{}
	for _, n := range names {
		m := rePGMName.FindStringSubmatch(n)
		if m == nil {
			continue
		}
		pn, _ := strconv.Atoi(m[1])
		data, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		g, err := parsePGM(data)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		pages[pn] = g
	}
	return pages
}

// pixRect is a rectangle in image pixels, [X0,X1)×[Y0,Y1), y down.
type pixRect struct{ X0, Y0, X1, Y1 int }

func (r pixRect) has(x, y int) bool { return x >= r.X0 && x < r.X1 && y >= r.Y0 && y < r.Y1 }

// toPixels maps a rectangle in default user space to the pixels pdftoppm draws it on: the
// image shows the MediaBox, turned clockwise by /Rotate. The result is grown by grow pixels.
func toPixels(r pdfcore.Rect, b *pageBox, img *gray, grow int) pixRect {
	W, H := b.Media.URX-b.Media.LLX, b.Media.URY-b.Media.LLY
	dw, dh := W, H
	if b.Rotate == 90 || b.Rotate == 270 {
		dw, dh = H, W
	}
	sx, sy := float64(img.W)/dw, float64(img.H)/dh
	x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, c := range [][2]float64{{r.LLX, r.LLY}, {r.LLX, r.URY}, {r.URX, r.LLY}, {r.URX, r.URY}} {
		u, v := c[0]-b.Media.LLX, c[1]-b.Media.LLY
		var x, y float64
		switch b.Rotate {
		case 90:
			x, y = v, u
		case 180:
			x, y = W-u, v
		case 270:
			x, y = H-v, W-u
		default:
			x, y = u, H-v
		}
		x, y = x*sx, y*sy
		x0, y0, x1, y1 = math.Min(x0, x), math.Min(y0, y), math.Max(x1, x), math.Max(y1, y)
	}
	return pixRect{int(math.Floor(x0)) - grow, int(math.Floor(y0)) - grow, int(math.Ceil(x1)) + grow, int(math.Ceil(y1)) + grow}
}

// diffInside counts the pixels that differ between a and b inside r.
func diffInside(a, b *gray, r pixRect) int {
	n := 0
	for y := max(r.Y0, 0); y < min(r.Y1, a.H); y++ {
		for x := max(r.X0, 0); x < min(r.X1, a.W); x++ {
			if a.Pix[y*a.W+x] != b.Pix[y*b.W+x] {
				n++
			}
		}
	}
	return n
}

// diffOutside counts the pixels that differ between a and b outside every rectangle in skip.
func diffOutside(a, b *gray, skip []pixRect) int {
	n := 0
	for y := 0; y < a.H; y++ {
	pixel:
		for x := 0; x < a.W; x++ {
			if a.Pix[y*a.W+x] == b.Pix[y*b.W+x] {
				continue
			}
			for _, r := range skip {
				if r.has(x, y) {
					continue pixel
				}
			}
			n++
		}
	}
	return n
}

// ---- small PDFs built in the test ----

// miniPDF writes a classic-xref PDF of n A4 pages with a line of text each; extraCatalog
// is added to the catalog and extra objects are numbered from 5 on.
func miniPDF(n int, extraCatalog string, extra ...string) []byte {
	return miniPDFRotated(n, 0, extraCatalog, extra...)
}

// miniPDFRotated is miniPDF with /Rotate rotate on the first page.
func miniPDFRotated(n, rotate int, extraCatalog string, extra ...string) []byte {
	var b bytes.Buffer
	var offsets []int
	obj := func(num int, body string) {
		for len(offsets) <= num {
			offsets = append(offsets, 0)
		}
		offsets[num] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", num, body)
	}
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	obj(1, "<< /Type /Catalog /Pages 2 0 R "+extraCatalog+" >>")
	first := 5 + len(extra)
	var kids []string
	for i := 0; i < n; i++ {
		kids = append(kids, fmt.Sprintf("%d 0 R", first+2*i))
	}
	obj(2, fmt.Sprintf("<< /Type /Pages /Count %d /Kids [%s] >>", n, strings.Join(kids, " ")))
	obj(3, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	obj(4, "<< >>")
	for i, e := range extra {
		obj(5+i, e)
	}
	for i := 0; i < n; i++ {
		// Text in the corners, so a misplaced marker or a shifted page shows in a rendering.
		c := fmt.Sprintf("BT /F1 18 Tf 72 760 Td (Test page %d of %d) Tj ET BT /F1 10 Tf 20 20 Td (bottom left) Tj ET "+
			"BT /F1 10 Tf 480 812 Td (top right) Tj ET 0.5 g 250 300 100 100 re f", i+1, n)
		rot := ""
		if i == 0 && rotate != 0 {
			rot = fmt.Sprintf(" /Rotate %d", rotate)
		}
		obj(first+2*i, fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]%s /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>", rot, first+2*i+1))
		obj(first+2*i+1, fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(c), c))
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offsets))
	for _, o := range offsets[1:] {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets), xref)
	return b.Bytes()
}

// slotRects picks two stacked 340×84 rectangles at the bottom left of page 1, the size a
// counter-signature widget needs to show a whole slot.
func slotRects(b *pageBox) (pdfcore.Rect, pdfcore.Rect) {
	x0, y0 := math.Ceil(b.Media.LLX+18), math.Ceil(b.Media.LLY+18)
	a := pdfcore.Rect{LLX: x0, LLY: y0, URX: x0 + 340, URY: y0 + 84}
	return a, pdfcore.Rect{LLX: x0, LLY: a.URY + 8, URX: x0 + 340, URY: a.URY + 92}
}
