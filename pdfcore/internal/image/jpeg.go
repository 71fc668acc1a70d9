package image

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"

	"github.com/veilsign/veilsign/pdfcore/internal/rawobj"
)

// FromJPEG makes an Image XObject that carries the JPEG unchanged under /DCTDecode: PDF
// viewers decode baseline and progressive JPEG themselves, so recompressing would only lose
// quality. The whole file is decoded once to refuse damaged data up front, since a viewer
// would otherwise show a broken logo in a signed, unchangeable page. EXIF orientation is not
// applied; images are shown as stored.
func FromJPEG(data []byte, alloc func() int) (xobjNum, w, h int, objs []rawobj.Object, err error) {
	if len(data) > MaxBytes {
		return 0, 0, 0, nil, checkSize(data, image.Config{})
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return 0, 0, 0, nil, decodeError("JPEG", err)
	}
	if err := checkSize(data, cfg); err != nil {
		return 0, 0, 0, nil, err
	}
	var space, decode string
	switch cfg.ColorModel {
	case color.GrayModel:
		space = "/DeviceGray"
	case color.YCbCrModel, color.RGBAModel:
		space = "/DeviceRGB"
	case color.CMYKModel:
		space = "/DeviceCMYK"
		// Photoshop, which writes the Adobe APP14 marker, stores CMYK inverted; viewers
		// expect the PDF to say so (the convention Acrobat, pdf.js and Ghostscript share).
		if hasAdobeMarker(data) {
			decode = " /Decode [1 0 1 0 1 0 1 0]"
		}
	default:
		return 0, 0, 0, nil, errorf(ErrUnsupported, "JPEG colour model %T", cfg.ColorModel)
	}
	if _, err := jpeg.Decode(bytes.NewReader(data)); err != nil {
		return 0, 0, 0, nil, decodeError("JPEG", err)
	}
	xobjNum = alloc()
	dict := fmt.Sprintf("/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace %s /BitsPerComponent 8%s /Filter /DCTDecode",
		cfg.Width, cfg.Height, space, decode)
	return xobjNum, cfg.Width, cfg.Height, []rawobj.Object{{Num: xobjNum, Body: rawobj.Stream(dict, data, false)}}, nil
}

// hasAdobeMarker reports whether an APP14 segment starting "Adobe" comes before the first
// scan. Segments are walked by their lengths; anything malformed ends the walk.
func hasAdobeMarker(data []byte) bool {
	p := 2 // after SOI
	for p+4 <= len(data) {
		if data[p] != 0xFF {
			return false
		}
		marker := data[p+1]
		if marker == 0xFF { // fill byte
			p++
			continue
		}
		if marker == 0xDA || marker == 0xD9 { // start of scan, end of image
			return false
		}
		n := int(data[p+2])<<8 | int(data[p+3])
		if n < 2 || p+2+n > len(data) {
			return false
		}
		if marker == 0xEE && bytes.HasPrefix(data[p+4:p+2+n], []byte("Adobe")) {
			return true
		}
		p += 2 + n
	}
	return false
}
