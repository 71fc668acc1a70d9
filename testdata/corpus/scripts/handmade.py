#!/usr/bin/env python3
"""Hand-made structural test files for veilsign (written from scratch by pdfmini).
Made for veilsign, CC0.   usage: handmade.py OUTDIR"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pdfmini import Doc, stream_obj, pdf_string  # noqa: E402

OUT = sys.argv[1]
ID = b"/ID [<5665696C7369676E2074657374206964> <5665696C7369676E2074657374206964>]"


def text_content(lines, x=72, y=760, size=14, extra=b""):
    s = b"BT /F1 %d Tf %d %d Td %d TL\n" % (size, x, y, size + 6)
    for ln in lines:
        s += pdf_string(ln) + b" '\n"
    s += b"ET\n" + extra
    return s


def font(d):
    return d.add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")


def info(d, title):
    return d.add(b"<< /Title " + pdf_string(title) + b" /Producer (veilsign corpus pdfmini.py) >>")


# 1. inherited MediaBox / Resources / Rotate from /Pages nodes, nested page tree
def inherited():
    d = Doc("1.4")
    f = font(d)
    res = d.add(b"<< /Font << /F1 %d 0 R >> >>" % f)
    root, top, sub_a, sub_b = d.new(), d.new(), d.new(), d.new()
    pages_a, pages_b = [], []
    for i in range(3):
        c = d.add(stream_obj(b"", text_content([
            "Page %d: no MediaBox, no Resources on this page object." % (i + 1),
            "Both are inherited from the /Pages nodes above it (nested tree).",
            "Subtree A: A4 MediaBox on the root /Pages node."])))
        p = d.add(b"<< /Type /Page /Parent %d 0 R /Contents %d 0 R >>" % (sub_a, c))
        pages_a.append(p)
    for i in range(2):
        c = d.add(stream_obj(b"", text_content([
            "Page %d: subtree B overrides MediaBox (US Letter)" % (i + 4),
            "and sets an inheritable /Rotate 90 on its /Pages node."])))
        p = d.add(b"<< /Type /Page /Parent %d 0 R /Contents %d 0 R >>" % (sub_b, c))
        pages_b.append(p)
    d.set(sub_a, b"<< /Type /Pages /Parent %d 0 R /Kids [%s] /Count 3 >>" % (
        top, b" ".join(b"%d 0 R" % p for p in pages_a)))
    d.set(sub_b, b"<< /Type /Pages /Parent %d 0 R /Kids [%s] /Count 2 /MediaBox [0 0 612 792] /Rotate 90 >>" % (
        top, b" ".join(b"%d 0 R" % p for p in pages_b)))
    d.set(top, b"<< /Type /Pages /Kids [%d 0 R %d 0 R] /Count 5 /MediaBox [0 0 595 842] /Resources %d 0 R >>" % (
        sub_a, sub_b, res))
    d.set(root, b"<< /Type /Catalog /Pages %d 0 R >>" % top)
    inf = info(d, "Inherited page attributes (veilsign test corpus)")
    d.write_classic(os.path.join(OUT, "handmade-inherited-mediabox-resources-rotate.pdf"),
                    b"/Root %d 0 R /Info %d 0 R " % (root, inf) + ID)


def simple_pages(d, specs, title):
    """specs: list of (page dict extra bytes, lines or None for no /Contents)."""
    f = font(d)
    root, pages = d.new(), d.new()
    kids = []
    for extra, lines in specs:
        contents = b""
        if lines is not None:
            c = d.add(stream_obj(b"", text_content(lines, extra=b"0.8 0 0 RG 4 w 0 0 m 595 842 l S\n")))
            contents = b" /Contents %d 0 R" % c
        kids.append(d.add(b"<< /Type /Page /Parent %d 0 R " % pages + extra + contents +
                          b" /Resources << /Font << /F1 %d 0 R >> >> >>" % f))
    d.set(pages, b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % k for k in kids), len(kids)))
    d.set(root, b"<< /Type /Catalog /Pages %d 0 R >>" % pages)
    return root, info(d, title)


# 2. CropBox smaller than MediaBox (plus TrimBox/BleedBox)
def cropbox():
    d = Doc("1.4")
    root, inf = simple_pages(d, [
        (b"/MediaBox [0 0 595 842] /CropBox [50 100 545 742] /BleedBox [40 90 555 752] /TrimBox [50 100 545 742]",
         ["", "", "", "Page 1: CropBox [50 100 545 742] inside MediaBox [0 0 595 842]",
          "A viewer shows only the crop box; the red diagonal is clipped."]),
        (b"/MediaBox [0 0 595 842] /CropBox [0 421 595 842]",
         ["Page 2: CropBox is the upper half of the MediaBox"]),
    ], "CropBox smaller than MediaBox (veilsign test corpus)")
    d.write_classic(os.path.join(OUT, "handmade-cropbox-smaller-than-mediabox.pdf"),
                    b"/Root %d 0 R /Info %d 0 R " % (root, inf) + ID)


# 3. MediaBox whose origin is not (0,0)
def origin():
    d = Doc("1.4")
    f_lines = lambda t: [t, "The red line runs from (0,0) to (595,842) in user space."]  # noqa: E731
    root, inf = simple_pages(d, [
        (b"/MediaBox [100 200 695 1042]", ["", "", "", ""] + f_lines("Page 1: MediaBox [100 200 695 1042]")),
        (b"/MediaBox [-297.5 -421 297.5 421]", f_lines("Page 2: MediaBox [-297.5 -421 297.5 421], origin at the centre")),
        (b"/MediaBox [842 0 0 595]", f_lines("Page 3: MediaBox [842 0 0 595] (corners given in reverse order)")),
    ], "Non-zero MediaBox origin (veilsign test corpus)")
    d.write_classic(os.path.join(OUT, "handmade-mediabox-nonzero-origin.pdf"),
                    b"/Root %d 0 R /Info %d 0 R " % (root, inf) + ID)


# 4. Last page without a content stream
def no_contents():
    d = Doc("1.4")
    root, inf = simple_pages(d, [
        (b"/MediaBox [0 0 595 842]", ["Page 1 of 3: has a content stream."]),
        (b"/MediaBox [0 0 595 842]", ["Page 2 of 3: has a content stream. Page 3 has no /Contents key."]),
        (b"/MediaBox [0 0 595 842]", None),
    ], "Last page without contents (veilsign test corpus)")
    d.write_classic(os.path.join(OUT, "handmade-last-page-no-contents.pdf"),
                    b"/Root %d 0 R /Info %d 0 R " % (root, inf) + ID)


# 5. Hybrid-reference file: classic table + /XRefStm, objects in an object stream
def hybrid():
    d = Doc("1.5")
    f = font(d)
    root, pages = d.new(), d.new()
    kids, compressed = [], [f, pages]
    for i in range(2):
        c = d.add(stream_obj(b"", text_content([
            "Hybrid-reference file, page %d of 2" % (i + 1),
            "The classic xref table marks the objects kept in the object stream as free;",
            "the trailer's /XRefStm points at an xref stream that locates them.",
            "A PDF 1.4 reader sees a document without pages; a 1.5 reader sees all of it."])))
        p = d.add(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Contents %d 0 R "
                  b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (pages, c, f))
        kids.append(p)
        compressed.append(p)
    d.set(pages, b"<< /Type /Pages /Kids [%s] /Count 2 >>" % b" ".join(b"%d 0 R" % k for k in kids))
    d.set(root, b"<< /Type /Catalog /Pages %d 0 R >>" % pages)
    inf = info(d, "Hybrid-reference file (veilsign test corpus)")
    compressed.append(inf)
    d.write_hybrid(os.path.join(OUT, "handmade-hybrid-xrefstm.pdf"),
                   b"/Root %d 0 R /Info %d 0 R " % (root, inf) + ID, sorted(compressed))


# 6. PDF 2.0: header %PDF-2.0, no /Info, XMP metadata, xref stream with object stream
def pdf20():
    d = Doc("2.0")
    f = font(d)
    root, pages = d.new(), d.new()
    c = d.add(stream_obj(b"", text_content([
        "PDF 2.0 file written by hand:",
        "%PDF-2.0 header, no document information dictionary (deprecated in 2.0),",
        "document metadata only in XMP, xref stream and an object stream."])))
    p = d.add(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Contents %d 0 R "
              b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (pages, c, f))
    d.set(pages, b"<< /Type /Pages /Kids [%d 0 R] /Count 1 >>" % p)
    xmp = (b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
           b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
           b'<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
           b'xmlns:pdf="http://ns.adobe.com/pdf/1.3/" xmlns:xmp="http://ns.adobe.com/xap/1.0/">\n'
           b'<dc:title><rdf:Alt><rdf:li xml:lang="x-default">PDF 2.0 hand-made file (veilsign test corpus)</rdf:li></rdf:Alt></dc:title>\n'
           b'<pdf:Producer>veilsign corpus pdfmini.py</pdf:Producer>\n'
           b'<xmp:CreateDate>2024-01-01T00:00:00Z</xmp:CreateDate>\n'
           b'</rdf:Description></rdf:RDF></x:xmpmeta>\n<?xpacket end="w"?>')
    meta = d.add(stream_obj(b"/Type /Metadata /Subtype /XML", xmp, compress=False))
    d.set(root, b"<< /Type /Catalog /Pages %d 0 R /Metadata %d 0 R /Lang (en-GB) >>" % (pages, meta))
    d.write_xref_stream(os.path.join(OUT, "handmade-pdf20-xref-stream-objstm.pdf"),
                        b"/Root %d 0 R " % root + ID, objstm=[f, pages, p, root])


# 7. Two empty signature fields (one visible, one invisible), each with a widget on a page
def sigfields():
    d = Doc("1.7")
    f = font(d)
    root, pages = d.new(), d.new()
    p1, p2 = d.new(), d.new()
    sig1 = d.add(b"<< /FT /Sig /T (Signature1) /Type /Annot /Subtype /Widget /Rect [72 100 300 160] "
                 b"/F 4 /P %d 0 R /MK << /BC [0 0 1] >> >>" % p1)   # merged field + widget
    w2 = d.new()
    sig2 = d.add(b"<< /FT /Sig /T (Signature2) /Kids [%d 0 R] >>" % w2)  # field with a separate widget
    d.set(w2, b"<< /Type /Annot /Subtype /Widget /Parent %d 0 R /Rect [0 0 0 0] /F 132 /P %d 0 R >>" % (sig2, p2))
    ap = d.add(stream_obj(b"/Type /XObject /Subtype /Form /BBox [0 0 300 24] /Resources << /Font << /Helv %d 0 R >> >>" % f,
                          b"/Tx BMC q BT /Helv 12 Tf 0 g 2 7 Td (Jane Example) Tj ET Q EMC\n"))
    name = d.add(b"<< /FT /Tx /T (Name) /V (Jane Example) /Type /Annot /Subtype /Widget /Rect [72 600 372 624] "
                 b"/F 4 /P %d 0 R /DA (/Helv 12 Tf 0 g) /AP << /N %d 0 R >> >>" % (p1, ap))
    c1 = d.add(stream_obj(b"", text_content([
        "Two empty signature fields (/FT /Sig, no /V).",
        "Signature1: visible widget in the blue box below (field and widget merged).",
        "Signature2: invisible widget (Rect [0 0 0 0], hidden + locked flags) on page 2.",
        "Name: a filled text field above the box."], y=760,
        extra=b"0 0 1 RG 72 100 228 60 re S\n")))
    c2 = d.add(stream_obj(b"", text_content(["Page 2 carries the widget of the invisible Signature2."])))
    res = b"/Resources << /Font << /F1 %d 0 R >> >>" % f
    d.set(p1, b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Contents %d 0 R %s /Annots [%d 0 R %d 0 R] >>"
          % (pages, c1, res, sig1, name))
    d.set(p2, b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Contents %d 0 R %s /Annots [%d 0 R] >>"
          % (pages, c2, res, w2))
    d.set(pages, b"<< /Type /Pages /Kids [%d 0 R %d 0 R] /Count 2 >>" % (p1, p2))
    d.set(root, b"<< /Type /Catalog /Pages %d 0 R /AcroForm << /Fields [%d 0 R %d 0 R %d 0 R] "
                b"/DA (/Helv 0 Tf 0 g) /DR << /Font << /Helv %d 0 R >> >> >> >>" % (pages, sig1, sig2, name, f))
    inf = info(d, "Empty signature fields (veilsign test corpus)")
    d.write_classic(os.path.join(OUT, "handmade-empty-sigfields.pdf"),
                    b"/Root %d 0 R /Info %d 0 R " % (root, inf) + ID)


if __name__ == "__main__":
    inherited()
    cropbox()
    origin()
    no_contents()
    hybrid()
    pdf20()
    sigfields()
