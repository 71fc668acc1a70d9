package font_test

import (
	"bytes"
	"fmt"
	stdimage "image"
	"image/color"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/veilsign/veilsign/internal/testtool"
	"github.com/veilsign/veilsign/pdfcore/internal/font"
	"github.com/veilsign/veilsign/pdfcore/internal/image"
	"github.com/veilsign/veilsign/pdfcore/internal/rawobj/rawobjtest"
)

// pageLines are the lines the interop page shows, each of which text extraction must return.
var pageLines = []string{
	"Signature page",
	"Zoë Ångström-Łukasiewicz, Ørsted Überprüfung",
	"Αλέξανδρος Παπαδόπουλος",
	"Анна Ковальчук, Ёлка",
	"€",
}

// alphaPNG is a teal disc with a soft edge on a transparent background.
func alphaPNG(t testing.TB) []byte {
	img := stdimage.NewNRGBA(stdimage.Rect(0, 0, 64, 64))
	for y := range 64 {
		for x := range 64 {
			d := math.Hypot(float64(x)-31.5, float64(y)-31.5)
			a := math.Max(0, math.Min(1, 30-d))
			img.SetNRGBA(x, y, color.NRGBA{uint8(4 * x), 115, 133, uint8(255 * a)})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// buildPage writes a one-page PDF with the text lines, every logo and a PNG with alpha.
func buildPage(t *testing.T) []byte {
	doc := rawobjtest.New()
	regular, bold := font.Regular().NewSubset(), font.Bold().NewSubset()
	var content bytes.Buffer
	fmt.Fprintf(&content, "BT /F2 18 Tf 50 790 Td %s Tj ET\n", bold.Encode(pageLines[0]))
	for i, line := range pageLines[1:] {
		fmt.Fprintf(&content, "BT /F1 14 Tf 50 %d Td %s Tj ET\n", 760-26*i, regular.Encode(line))
	}
	var xobjects strings.Builder
	for i, method := range image.LogoMethods() {
		num, objs := image.LogoXObject(method, doc.Alloc)
		doc.Add(objs...)
		fmt.Fprintf(&xobjects, "/L%d %d 0 R ", i, num)
		x := 50 + 100*float64(i)
		// Once at 24 pt, the size on a signature slot, and once large for inspection.
		fmt.Fprintf(&content, "q 0.24 0 0 0.24 %g 600 cm /L%d Do Q\n", x, i)
		fmt.Fprintf(&content, "q 0.8 0 0 0.8 %g 480 cm /L%d Do Q\n", x, i)
	}
	num, w, h, objs, err := image.FromPNG(alphaPNG(t), doc.Alloc)
	if err != nil {
		t.Fatal(err)
	}
	doc.Add(objs...)
	fmt.Fprintf(&xobjects, "/Im %d 0 R", num)
	// A striped backdrop makes the transparency visible in the rendering.
	content.WriteString("0.95 0.85 0.3 rg 50 330 120 120 re f 0.2 0.2 0.2 rg 50 380 120 20 re f\n")
	fmt.Fprintf(&content, "q %d 0 0 %d 60 340 cm /Im Do Q\n", w*3/2, h*3/2)
	// Go's test images include the same picture as a Photoshop-style (inverted, Adobe
	// marker) CMYK JPEG and as a PNG: rendered side by side they must look alike.
	for i, name := range []string{"video-001.cmyk.jpeg", "video-001.png"} {
		data, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "src/image/testdata", name))
		if err != nil {
			continue
		}
		num, w, h, objs, err := image.Import(data, doc.Alloc)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		doc.Add(objs...)
		fmt.Fprintf(&xobjects, " /G%d %d 0 R", i, num)
		fmt.Fprintf(&content, "q %d 0 0 %d %d 340 cm /G%d Do Q\n", w, h, 200+160*i, i)
	}

	f1, objs, err := regular.Objects(doc.Alloc)
	if err != nil {
		t.Fatal(err)
	}
	doc.Add(objs...)
	f2, objs, err := bold.Objects(doc.Alloc)
	if err != nil {
		t.Fatal(err)
	}
	doc.Add(objs...)
	resources := fmt.Sprintf("<< /Font << /F1 %d 0 R /F2 %d 0 R >> /XObject << %s >> >>", f1, f2, xobjects.String())
	return doc.Bytes(595, 842, resources, content.Bytes())
}

func run(t *testing.T, tool string, args ...string) (stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(testtool.Require(t, tool), args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", tool, strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String(), errb.String()
}

func TestPageInterop(t *testing.T) {
	for _, tool := range []string{"qpdf", "pdftotext", "pdffonts", "pdftoppm", "mutool"} {
		testtool.Require(t, tool)
	}
	dir := t.TempDir()
	if keep := os.Getenv("VEILSIGN_KEEP"); keep != "" {
		dir = keep // to look at the renderings
	}
	pdf := filepath.Join(dir, "page.pdf")
	data := buildPage(t)
	if !bytes.Equal(data, buildPage(t)) {
		t.Error("the page is not the same bytes on a second build")
	}
	if err := os.WriteFile(pdf, data, 0o644); err != nil {
		t.Fatal(err)
	}

	if out, _ := run(t, "qpdf", "--check", pdf); !strings.Contains(out, "No syntax or stream encoding errors found") {
		t.Errorf("qpdf --check:\n%s", out)
	}

	text, _ := run(t, "pdftotext", "-enc", "UTF-8", pdf, "-")
	var got []string
	for _, l := range strings.Split(text, "\n") {
		if l = strings.Join(strings.Fields(l), " "); l != "" {
			got = append(got, l)
		}
	}
	if strings.Join(got, "\n") != strings.Join(pageLines, "\n") {
		t.Errorf("pdftotext returned\n%q\nwant\n%q", got, pageLines)
	}

	fonts, _ := run(t, "pdffonts", pdf)
	rows := 0
	for _, l := range strings.Split(fonts, "\n") {
		if !strings.Contains(l, "+Go") {
			continue
		}
		rows++
		// name, type "CID TrueType", encoding, emb, sub, uni, object, generation
		f := strings.Fields(l)
		if len(f) < 9 || f[1]+" "+f[2] != "CID TrueType" || f[3] != "Identity-H" || f[4] != "yes" || f[5] != "yes" || f[6] != "yes" {
			t.Errorf("pdffonts: want CID TrueType Identity-H, embedded, subset, with ToUnicode:\n%s", l)
		}
	}
	if rows != 2 {
		t.Errorf("pdffonts lists %d Go fonts, want 2:\n%s", rows, fonts)
	}

	if _, errs := run(t, "pdftoppm", "-png", "-r", "100", pdf, filepath.Join(dir, "poppler")); errs != "" {
		t.Errorf("pdftoppm stderr:\n%s", errs)
	}
	_, errs := run(t, "mutool", "draw", "-q", "-r", "100", "-o", filepath.Join(dir, "mupdf.png"), pdf)
	// Distribution builds of mupdf without lcms2 say so on every run, whatever the file.
	errs = strings.ReplaceAll(errs, "warning: ICC support is not available\n", "")
	if errs != "" {
		t.Errorf("mutool draw stderr:\n%s", errs)
	}
}
