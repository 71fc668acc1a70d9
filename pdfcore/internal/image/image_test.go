package image

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/veilsign/veilsign/pdfcore/internal/rawobj"
)

func counter() func() int {
	n := 0
	return func() int { n++; return n }
}

func encodePNG(t testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func filled(img interface {
	image.Image
	Set(x, y int, c color.Color)
}, c func(x, y int) color.Color) image.Image {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			img.Set(x, y, c(x, y))
		}
	}
	return img
}

func dict(o rawobj.Object) string {
	s := string(o.Body)
	if i := strings.Index(s, "\nstream\n"); i >= 0 {
		return s[:i]
	}
	return s
}

func TestFromPNG(t *testing.T) {
	r8 := image.Rect(0, 0, 8, 4)
	pal := color.Palette{color.NRGBA{255, 0, 0, 255}, color.NRGBA{0, 0, 255, 128}}
	for _, tc := range []struct {
		name  string
		img   image.Image
		space string
		mask  bool
	}{
		{"rgba", filled(image.NewNRGBA(r8), func(x, y int) color.Color { return color.NRGBA{uint8(x * 30), 80, 200, uint8(y * 60)} }), "/DeviceRGB", true},
		{"opaque rgb", filled(image.NewRGBA(r8), func(x, y int) color.Color { return color.RGBA{uint8(x * 30), 80, 200, 255} }), "/DeviceRGB", false},
		{"gray", filled(image.NewGray(r8), func(x, y int) color.Color { return color.Gray{uint8(x * 30)} }), "/DeviceGray", false},
		{"gray16", filled(image.NewGray16(r8), func(x, y int) color.Color { return color.Gray16{uint16(x * 3000)} }), "/DeviceGray", false},
		{"rgba64", filled(image.NewNRGBA64(r8), func(x, y int) color.Color { return color.NRGBA64{uint16(x * 3000), 1, 2, 0x8000} }), "/DeviceRGB", true},
		{"palette with alpha", filled(image.NewPaletted(r8, pal), func(x, y int) color.Color { return pal[(x+y)%2] }), "/DeviceRGB", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			num, w, h, objs, err := FromPNG(encodePNG(t, tc.img), counter())
			if err != nil {
				t.Fatal(err)
			}
			if num != 1 || w != 8 || h != 4 {
				t.Errorf("num %d, %d×%d", num, w, h)
			}
			d := dict(objs[0])
			for _, want := range []string{"/Subtype /Image", "/Width 8 /Height 4", "/ColorSpace " + tc.space, "/BitsPerComponent 8", "/FlateDecode"} {
				if !strings.Contains(d, want) {
					t.Errorf("image lacks %s: %s", want, d)
				}
			}
			if hasMask := strings.Contains(d, "/SMask 2 0 R"); hasMask != tc.mask || len(objs) != map[bool]int{true: 2, false: 1}[tc.mask] {
				t.Errorf("SMask %v with %d objects, want %v: %s", hasMask, len(objs), tc.mask, d)
			}
			if tc.mask && !strings.Contains(dict(objs[1]), "/ColorSpace /DeviceGray") {
				t.Errorf("mask: %s", dict(objs[1]))
			}
		})
	}
}

func TestFromJPEG(t *testing.T) {
	r := image.Rect(0, 0, 16, 8)
	for _, tc := range []struct {
		name  string
		data  []byte
		space string
	}{
		{"ycbcr", encodeJPEG(t, filled(image.NewRGBA(r), func(x, y int) color.Color { return color.RGBA{uint8(x * 15), 90, 10, 255} })), "/DeviceRGB"},
		{"gray", encodeJPEG(t, filled(image.NewGray(r), func(x, y int) color.Color { return color.Gray{uint8(x * 15)} })), "/DeviceGray"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			num, w, h, objs, err := FromJPEG(tc.data, counter())
			if err != nil {
				t.Fatal(err)
			}
			d := dict(objs[0])
			if num != 1 || w != 16 || h != 8 || len(objs) != 1 || !strings.Contains(d, "/ColorSpace "+tc.space) || !strings.Contains(d, "/Filter /DCTDecode") || strings.Contains(d, "/Decode") {
				t.Errorf("num %d %d×%d: %s", num, w, h, d)
			}
			if !bytes.Contains(objs[0].Body, tc.data) {
				t.Error("JPEG data not passed through unchanged")
			}
		})
	}
}

// Go's own test images include a Photoshop-style CMYK JPEG with the Adobe marker.
func TestFromJPEGCMYK(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "src/image/testdata/video-001.cmyk.jpeg"))
	if err != nil {
		t.Skipf("SKIPPED: Go's CMYK test image is not available: %v", err)
	}
	_, _, _, objs, err := FromJPEG(data, counter())
	if err != nil {
		t.Fatal(err)
	}
	if d := dict(objs[0]); !strings.Contains(d, "/ColorSpace /DeviceCMYK") || !strings.Contains(d, "/Decode [1 0 1 0 1 0 1 0]") {
		t.Errorf("CMYK: %s", d)
	}
}

func TestAdobeMarker(t *testing.T) {
	app14 := []byte{0xFF, 0xEE, 0, 14, 'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, 2}
	for _, tc := range []struct {
		name string
		data []byte
		want bool
	}{
		{"present", append([]byte{0xFF, 0xD8}, app14...), true},
		{"after APP0", append([]byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 'J', 'F'}, app14...), true},
		{"after scan", append([]byte{0xFF, 0xD8, 0xFF, 0xDA, 0, 2}, app14...), false},
		{"bad length", []byte{0xFF, 0xD8, 0xFF, 0xEE, 0, 200, 'A', 'd', 'o', 'b', 'e'}, false},
		{"none", []byte{0xFF, 0xD8, 0xFF, 0xD9}, false},
	} {
		if got := hasAdobeMarker(tc.data); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestErrors(t *testing.T) {
	small := encodePNG(t, image.NewGray(image.Rect(0, 0, 2, 2)))
	wide := encodePNG(t, image.NewGray(image.Rect(0, 0, MaxSide+1, 1)))
	bigJPEG := encodeJPEG(t, image.NewGray(image.Rect(0, 0, 1, MaxSide+1)))
	huge := append(append([]byte{}, small...), make([]byte, MaxBytes)...)
	for _, tc := range []struct {
		name string
		fn   func([]byte, func() int) (int, int, int, []rawobj.Object, error)
		data []byte
		want *Error
	}{
		{"text", Import, []byte("hello"), ErrUnsupported},
		{"gif", Import, []byte("GIF89a\x01\x00\x01\x00"), ErrUnsupported},
		{"png as jpeg", FromJPEG, small, ErrCorrupt},
		{"truncated png", FromPNG, small[:len(small)-20], ErrCorrupt},
		{"wide png", Import, wide, ErrTooLarge},
		{"tall jpeg", Import, bigJPEG, ErrTooLarge},
		{"many bytes", FromPNG, huge, ErrTooLarge},
		{"truncated jpeg", FromJPEG, encodeJPEG(t, image.NewGray(image.Rect(0, 0, 64, 64)))[:200], ErrCorrupt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, objs, err := tc.fn(tc.data, counter())
			var e *Error
			if !errors.Is(err, tc.want) || !errors.As(err, &e) || e.Code != tc.want.Code || objs != nil {
				t.Errorf("got %v (%d objects), want code %s", err, len(objs), tc.want.Code)
			}
		})
	}
}

func TestLogos(t *testing.T) {
	for _, m := range append(LogoMethods(), "unknown") {
		content, bbox := Logo(m)
		if bbox != [4]float64{0, 0, 100, 100} || len(content) == 0 {
			t.Errorf("%s: bbox %v, %d bytes", m, bbox, len(content))
		}
		// Balanced save/restore, and no text: the marks need no font resources.
		if q, Q := bytes.Count(content, []byte("q\n")), bytes.Count(content, []byte("Q\n")); q != Q {
			t.Errorf("%s: %d q, %d Q", m, q, Q)
		}
		num, objs := LogoXObject(m, counter())
		if num != 1 || len(objs) != 1 || !strings.Contains(dict(objs[0]), "/Subtype /Form /BBox [0 0 100 100]") {
			t.Errorf("%s: %d %s", m, num, dict(objs[0]))
		}
	}
	a, _ := Logo("itsme")
	b, _ := Logo("unknown")
	if bytes.Equal(a, b) {
		t.Error("itsme draws the generic mark")
	}
}

// TestLogoXObjectCached: the body made once per method is the one a fresh drawing gives, on
// every call, and methods without a mark of their own share the generic one.
func TestLogoXObjectCached(t *testing.T) {
	for _, m := range append(LogoMethods(), "unknown", "other") {
		content, bbox := Logo(m)
		want := rawobj.Stream("/Type /XObject /Subtype /Form /BBox ["+numList(bbox[:])+"] /Resources << >>", content, true)
		for i := 0; i < 3; i++ {
			n := 41
			num, objs := LogoXObject(m, func() int { n++; return n })
			if num != 42 || objs[0].Num != 42 || !bytes.Equal(objs[0].Body, want) {
				t.Fatalf("%s, call %d: object %d, body differs from a fresh drawing", m, i, num)
			}
			if cap(objs[0].Body) != len(objs[0].Body) {
				t.Fatalf("%s: the shared body has spare capacity an append would write into", m)
			}
		}
	}
	_, u := LogoXObject("unknown", counter())
	_, o := LogoXObject("other", counter())
	if &u[0].Body[0] != &o[0].Body[0] {
		t.Error("methods without a mark of their own do not share the generic body")
	}
}
