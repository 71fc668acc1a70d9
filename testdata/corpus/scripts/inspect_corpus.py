#!/usr/bin/env python3
"""Checks every file of testdata/pdf with qpdf --check and pdfinfo and prints, per file,
the facts recorded in testdata/README.md: header version, page count, xref kind of each
section (from the bytes: "xref" keyword vs an /Type /XRef stream; "hybrid" when the
trailer has /XRefStm), object streams, linearization, AcroForm fields, page sizes and
rotation.  Made for veilsign, CC0.   usage: inspect_corpus.py [DIR] [--md]"""
import os
import re
import subprocess
import sys

d = next((a for a in sys.argv[1:] if not a.startswith("--")), os.path.join(os.path.dirname(__file__), "..", "..", "pdf"))
md = "--md" in sys.argv


def run(*cmd):
    r = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    return r.returncode, r.stdout + r.stderr


def sections(data):
    """Walks startxref and /Prev; returns a list of 'table', 'stream' or 'hybrid'."""
    out = []
    try:
        i = data.rindex(b"startxref")
        off = int(re.match(rb"startxref\s+(\d+)", data[i:]).group(1))
    except (ValueError, AttributeError):
        return ["none"]
    seen = set()
    while off is not None and off not in seen and len(out) < 20:
        seen.add(off)
        chunk = data[off:off + 200000]
        if chunk.startswith(b"xref"):
            t = chunk.index(b"trailer")
            tr = chunk[t:t + 4000]
            end = tr.find(b"startxref")
            tr = tr[:end if end > 0 else len(tr)]
            out.append("hybrid" if b"/XRefStm" in tr else "table")
        elif re.match(rb"\d+\s+\d+\s+obj", chunk) and b"/XRef" in chunk[:2000]:
            tr = chunk[:chunk.find(b"stream")]
            out.append("stream")
        else:
            out.append("BROKEN@%d" % off)
            break
        m = re.search(rb"/Prev\s+(\d+)", tr)
        off = int(m.group(1)) if m else None
    return out


NAMES = {(595, 842): "A4", (612, 792): "Letter", (420, 595): "A5", (842, 1191): "A3"}


def size_name(w, h):
    key = tuple(sorted((round(w), round(h))))
    for (a, b2), n in NAMES.items():
        if abs(key[0] - a) <= 2 and abs(key[1] - b2) <= 2:
            return n + (" landscape" if w > h else "")
    return "%gx%g" % (round(w, 1), round(h, 1))


rows = []
for name in sorted(os.listdir(d)):
    if not name.endswith(".pdf"):
        continue
    p = os.path.join(d, name)
    data = open(p, "rb").read()
    head = data[:12].split(b"\n")[0].split(b"\r")[0]
    ver = head[5:8].decode("latin-1") if head.startswith(b"%PDF-") else "-"
    qrc, qout = run("qpdf", "--check", p)
    qpdf_state = {0: "ok", 3: "warnings"}.get(qrc, "ERROR")
    irc, iout = run("pdfinfo", "-f", "1", "-l", "200", p)
    info_state = "ok" if irc == 0 and "Error" not in iout else ("ERROR" if irc else "errors")
    pages = re.search(r"^Pages:\s+(\d+)", iout, re.M)
    pages = pages.group(1) if pages else "-"
    sizes = []
    for m in re.finditer(r"^Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts.*\nPage\s+\d+ rot:\s+(\d+)", iout, re.M):
        s = size_name(float(m.group(1)), float(m.group(2)))
        if m.group(3) != "0":
            s += " rot" + m.group(3)
        if s not in sizes:
            sizes.append(s)
    secs = sections(data)
    objstm = "objstm" if re.search(rb"/Type\s*/ObjStm", data) else ""
    lin = "linearized" if "File is linearized" in qout else ""
    enc = "encrypted" if re.search(rb"/Encrypt\s+\d+\s+\d+\s+R", data) else ""
    _, fout = run("qpdf", "--show-npages", p)
    form = ""
    if b"/AcroForm" in data or b"/ObjStm" in data:
        rc, jout = run("qpdf", "--json", "--json-key=acroform", p)
        fts = re.findall(r'"fieldtype": "/(\w+)"', jout)
        if fts:
            form = "fields " + ",".join("%s×%d" % (t, fts.count(t)) for t in sorted(set(fts)))
    sigs = ""
    if b"/ByteRange" in data:
        rc, sout = run("pdfsig", p)
        n = len(re.findall(r"Signature Validation: Signature is Valid", sout))
        sigs = "%d valid sig(s)" % n
    rows.append((name, ver, pages, "+".join(reversed(secs)), " ".join(x for x in (objstm, lin, enc) if x),
                 form, sigs, ", ".join(sizes[:5]) + (" …" if len(sizes) > 5 else ""), qpdf_state, info_state,
                 os.path.getsize(p)))

if md:
    print("| file | ver | pages | xref sections (oldest first) | structure | form / sig | sizes | qpdf | pdfinfo | bytes |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r[0], r[1], r[2], r[3], r[4], " ".join(x for x in (r[5], r[6]) if x), r[7], r[8], r[9], r[10]))
else:
    for r in rows:
        print(" | ".join(str(x) for x in r))
