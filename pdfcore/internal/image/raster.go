package image

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"

	"github.com/veilsign/veilsign/pdfcore/internal/rawobj"
)

var (
	pngMagic  = []byte("\x89PNG\r\n\x1a\n")
	jpegMagic = []byte{0xFF, 0xD8, 0xFF}
)

// Import places a PNG or JPEG, telling them apart by their first bytes.
func Import(data []byte, alloc func() int) (xobjNum, w, h int, objs []rawobj.Object, err error) {
	switch {
	case bytes.HasPrefix(data, pngMagic):
		return FromPNG(data, alloc)
	case bytes.HasPrefix(data, jpegMagic):
		return FromJPEG(data, alloc)
	}
	return 0, 0, 0, nil, errorf(ErrUnsupported, "not a PNG or JPEG file")
}

// checkSize rejects files and dimensions beyond the limits before anything is decoded.
func checkSize(data []byte, cfg image.Config) error {
	if len(data) > MaxBytes {
		return errorf(ErrTooLarge, "%d bytes, more than %d", len(data), MaxBytes)
	}
	if cfg.Width < 1 || cfg.Height < 1 {
		return errorf(ErrCorrupt, "empty image (%d×%d)", cfg.Width, cfg.Height)
	}
	if cfg.Width > MaxSide || cfg.Height > MaxSide {
		return errorf(ErrTooLarge, "%d×%d pixels, more than %d on a side", cfg.Width, cfg.Height, MaxSide)
	}
	return nil
}

// decodeError sorts a decoder's error into our codes.
func decodeError(format string, err error) error {
	var pu png.UnsupportedError
	var ju jpeg.UnsupportedError
	if errors.As(err, &pu) || errors.As(err, &ju) {
		return errorf(ErrUnsupported, "%s: %v", format, err)
	}
	return errorf(ErrCorrupt, "%s: %v", format, err)
}

// FromPNG makes an Image XObject of a PNG: 8 bits per component, DeviceGray when every
// pixel is grey and DeviceRGB otherwise, Flate-compressed, with any transparency as a
// DeviceGray /SMask. Palette images are expanded; 16-bit images are reduced to 8 bits,
// which no logo needs more than. Objects are numbered by alloc, the image first.
func FromPNG(data []byte, alloc func() int) (xobjNum, w, h int, objs []rawobj.Object, err error) {
	if len(data) > MaxBytes {
		return 0, 0, 0, nil, checkSize(data, image.Config{})
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return 0, 0, 0, nil, decodeError("PNG", err)
	}
	if err := checkSize(data, cfg); err != nil {
		return 0, 0, 0, nil, err
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return 0, 0, 0, nil, decodeError("PNG", err)
	}
	w, h = img.Bounds().Dx(), img.Bounds().Dy()
	rgb, alpha, gray, opaque := split(img)
	space, samples := "/DeviceRGB", rgb
	if gray {
		space, samples = "/DeviceGray", make([]byte, w*h)
		for i := range samples {
			samples[i] = rgb[3*i]
		}
	}
	xobjNum = alloc()
	dict := fmt.Sprintf("/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace %s /BitsPerComponent 8", w, h, space)
	if opaque {
		objs = []rawobj.Object{{Num: xobjNum, Body: rawobj.Stream(dict, samples, true)}}
		return xobjNum, w, h, objs, nil
	}
	mask := alloc()
	dict += fmt.Sprintf(" /SMask %d 0 R", mask)
	maskDict := fmt.Sprintf("/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 8", w, h)
	objs = []rawobj.Object{
		{Num: xobjNum, Body: rawobj.Stream(dict, samples, true)},
		{Num: mask, Body: rawobj.Stream(maskDict, alpha, true)},
	}
	return xobjNum, w, h, objs, nil
}

// split separates an image into straight (not premultiplied) RGB samples and alpha, and
// reports whether it is all grey and all opaque. PDF composites the /SMask over colours
// that are not premultiplied, so the conversion goes through NRGBA.
func split(img image.Image) (rgb, alpha []byte, gray, opaque bool) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	rgb, alpha = make([]byte, 3*w*h), make([]byte, w*h)
	gray, opaque = true, true
	var palette []color.NRGBA
	if p, ok := img.(*image.Paletted); ok {
		palette = make([]color.NRGBA, len(p.Palette))
		for i, c := range p.Palette {
			palette[i] = color.NRGBAModel.Convert(c).(color.NRGBA)
		}
	}
	i := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			var c color.NRGBA
			switch m := img.(type) {
			case *image.NRGBA:
				c = m.NRGBAAt(x, y)
			case *image.Paletted:
				// A PNG index past the palette decodes as an error, but stay safe.
				if idx := int(m.ColorIndexAt(x, y)); idx < len(palette) {
					c = palette[idx]
				}
			default:
				c = color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			}
			rgb[3*i], rgb[3*i+1], rgb[3*i+2], alpha[i] = c.R, c.G, c.B, c.A
			gray = gray && c.R == c.G && c.G == c.B
			opaque = opaque && c.A == 0xFF
			i++
		}
	}
	return rgb, alpha, gray, opaque
}
