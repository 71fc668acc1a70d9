#!/usr/bin/env python3
"""Incremental updates appended by hand to files made by real producers.
Made for veilsign, CC0.

usage:
  updates.py three-updates SRC DST          3 updates: new /Info; a text annotation;
                                            a new page + the annotation deleted (free entry)
  updates.py sigfield SRC DST NAME [PAGE]   one update adding an empty, visible signature
                                            field (/FT /Sig, no /V) with a widget on PAGE
  updates.py certify SRC DST P KEY CERT     one update adding a certification (DocMDP)
                                            signature with permissions P (1, 2 or 3); the CMS
                                            is a real detached PKCS#7 made by `openssl cms`
  updates.py retitle SRC DST table|stream   one update replacing the /Info dictionary, with
                                            a classic table or an xref stream whatever the
                                            previous section was (mixed-kind chains)
  updates.py damage-startxref SRC DST       copy with the last startxref off by 7 bytes
"""
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pdfmini as pm  # noqa: E402
from pdfmini import Ref, Name, Raw, ser, stream_obj, pdf_string  # noqa: E402


def three_updates(src, dst):
    tmp1, tmp2 = dst + ".u1", dst + ".u2"
    # update 1: a new document information dictionary (same object number if there is one)
    tr = pm.parse(pm.qpdf_show(src, "trailer"))
    n = pm.next_free_num(src)
    info = tr.get("Info")
    info_num = info[0] if isinstance(info, Ref) else n
    d = pm.get_obj(src, info_num) if isinstance(info, Ref) else {}
    d[Name("Title")] = "Edited three times (veilsign test corpus)"
    d[Name("ModDate")] = Raw(b"(D:20240102030405Z)")
    pm.append_update(src, tmp1, {info_num: ser(d)}, info=b"%d 0 R" % info_num)
    # update 2: a sticky-note annotation on page 1
    p1 = pm.page_refs(tmp1)[0]
    an = pm.next_free_num(tmp1)
    page = pm.get_obj(tmp1, p1)
    annots = page.get("Annots")
    assert not isinstance(annots, Ref)
    page["Annots"] = (annots or []) + [Ref((an, 0))]
    pm.append_update(tmp1, tmp2, {
        an: b"<< /Type /Annot /Subtype /Text /Rect [500 780 520 800] /Contents (added by update 2, "
            b"deleted by update 3) /Open false /F 4 /P %d 0 R >>" % p1,
        p1: ser(page)})
    # update 3: append a page; remove the annotation from page 1 and free its object
    page = pm.get_obj(tmp2, p1)
    page["Annots"] = [a for a in page["Annots"] if a != Ref((an, 0))]
    if not page["Annots"]:
        del page["Annots"]
    root = pm.get_obj(tmp2, pm.root_ref(tmp2)[0])
    pages_num = root["Pages"][0]
    pages = pm.get_obj(tmp2, pages_num)
    n = pm.next_free_num(tmp2)
    font, content, newpage = n, n + 1, n + 2
    pages["Kids"] = pages["Kids"] + [Ref((newpage, 0))]
    pages["Count"] = Raw(b"%d" % (int(pages["Count"]) + 1))
    text = (b"BT /F1 14 Tf 72 760 Td (Page added by incremental update 3.) Tj 0 -20 Td "
            b"(The note added by update 2 is deleted by this update.) Tj ET\n")
    pm.append_update(tmp2, dst, {
        p1: ser(page),
        pages_num: ser(pages),
        font: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        content: stream_obj(b"", text),
        newpage: b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Contents %d 0 R "
                 b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (pages_num, content, font),
    }, free=[an])
    os.remove(tmp1)
    os.remove(tmp2)


def sigfield(src, dst, name, page_index=0):
    p = pm.page_refs(src)[page_index]
    n = pm.next_free_num(src)
    field = {n: b"<< /FT /Sig /T " + pdf_string(name) + b" /Type /Annot /Subtype /Widget "
                b"/Rect [330 60 530 120] /F 4 /P %d 0 R /MK << /BC [0 0 0] /BG [0.95 0.95 0.95] >> >>" % p}
    field.update(pm.add_annot_and_field(src, p, n))
    pm.append_update(src, dst, field)


def certify(src, dst, perm, key, cert, contents_size=8192):
    p = pm.page_refs(src)[0]
    n = pm.next_free_num(src)
    sig, widget = n, n + 1
    now = time.strftime("D:%Y%m%d%H%M%SZ", time.gmtime())
    placeholder_br = b"[0 0000000000 0000000000 0000000000]"
    sigdict = (b"<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /adbe.pkcs7.detached /ByteRange " +
               placeholder_br + b" /Contents <" + b"0" * (2 * contents_size) + b"> /M (" + now.encode() + b")"
               b" /Name (veilsign test signer) /Reason (Certification with DocMDP P=%d, made for the veilsign corpus)"
               b" /Reference [<< /Type /SigRef /TransformMethod /DocMDP"
               b" /TransformParams << /Type /TransformParams /P %d /V /1.2 >> >>] >>" % (perm, perm))
    objs = {
        sig: sigdict,
        widget: b"<< /FT /Sig /T (Certification) /V %d 0 R /Type /Annot /Subtype /Widget /Rect [0 0 0 0] "
                b"/F 132 /P %d 0 R >>" % (sig, p),
    }
    objs.update(pm.add_annot_and_field(src, p, widget, sigflags=3,
                                       catalog_extra={Name("Perms"): {Name("DocMDP"): Ref((sig, 0))}}))
    data = bytearray(pm.append_update(src, None, objs))
    # fill /ByteRange, then sign the two ranges
    start = data.index(b"%d 0 obj\n<< /Type /Sig" % sig)
    c0 = data.index(b"/Contents <", start) + len(b"/Contents ")
    c1 = data.index(b">", c0) + 1
    br = b"[0 %d %d %d]" % (c0, c1, len(data) - c1)
    br = br.ljust(len(placeholder_br))
    bpos = data.index(placeholder_br, start)
    data[bpos:bpos + len(br)] = br
    signed = bytes(data[:c0]) + bytes(data[c1:])
    with tempfile.TemporaryDirectory() as t:
        open(os.path.join(t, "in"), "wb").write(signed)
        subprocess.run(["openssl", "cms", "-sign", "-binary", "-md", "sha256", "-outform", "DER",
                        "-nosmimecap", "-signer", cert, "-inkey", key, "-in", os.path.join(t, "in"),
                        "-out", os.path.join(t, "out")], check=True)
        der = open(os.path.join(t, "out"), "rb").read()
    hexsig = der.hex().upper().encode()
    assert len(hexsig) <= 2 * contents_size
    data[c0 + 1:c0 + 1 + len(hexsig)] = hexsig
    open(dst, "wb").write(data)


def retitle(src, dst, kind):
    tr = pm.parse(pm.qpdf_show(src, "trailer"))
    info = tr.get("Info")
    num = info[0] if isinstance(info, Ref) else pm.next_free_num(src)
    d = pm.get_obj(src, num) if isinstance(info, Ref) else {}
    d[Name("Title")] = "Retitled by an update whose xref kind differs (veilsign test corpus)"
    pm.append_update(src, dst, {num: ser(d)}, info=b"%d 0 R" % num, xref_stream=(kind == "stream"))


def damage_startxref(src, dst):
    data = open(src, "rb").read()
    i = data.rindex(b"startxref")
    m = re.match(rb"startxref\s+(\d+)", data[i:])
    off = int(m.group(1))
    data = data[:i] + b"startxref\n%d\n%%%%EOF\n" % (off + 7)
    open(dst, "wb").write(data)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "three-updates":
        three_updates(sys.argv[2], sys.argv[3])
    elif cmd == "sigfield":
        sigfield(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]) if len(sys.argv) > 5 else 0)
    elif cmd == "certify":
        certify(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6])
    elif cmd == "retitle":
        retitle(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "damage-startxref":
        damage_startxref(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
