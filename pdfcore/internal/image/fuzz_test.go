package image

import (
	"image"
	"image/color"
	"strings"
	"testing"
)

// FuzzImage feeds arbitrary bytes to the importers: they must return objects or one of our
// typed errors, never panic, and never emit an image beyond the limits.
func FuzzImage(f *testing.F) {
	rgba := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	rgba.Set(1, 1, color.NRGBA{10, 20, 30, 40})
	pal := image.NewPaletted(image.Rect(0, 0, 2, 2), color.Palette{color.Black, color.Transparent})
	f.Add(encodePNG(f, rgba))
	f.Add(encodePNG(f, pal))
	f.Add(encodePNG(f, image.NewGray16(image.Rect(0, 0, 1, 3))))
	f.Add(encodeJPEG(f, rgba))
	f.Add(encodeJPEG(f, image.NewGray(image.Rect(0, 0, 5, 5))))
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xEE, 0, 7, 'A', 'd', 'o', 'b', 'e'})
	f.Fuzz(func(t *testing.T, data []byte) {
		num, w, h, objs, err := Import(data, counter())
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			if objs != nil {
				t.Fatal("objects returned with an error")
			}
			return
		}
		if num != 1 || w < 1 || h < 1 || w > MaxSide || h > MaxSide || len(objs) == 0 {
			t.Fatalf("num %d, %d×%d, %d objects", num, w, h, len(objs))
		}
		for _, o := range objs {
			if !strings.HasSuffix(string(o.Body), "\nendstream") {
				t.Fatalf("object %d is not a stream", o.Num)
			}
		}
	})
}
