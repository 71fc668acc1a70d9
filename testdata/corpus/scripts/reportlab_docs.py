#!/usr/bin/env python3
"""reportlab-made test files; made for veilsign, CC0.
usage: reportlab_docs.py OUTDIR"""
import sys, os
from reportlab.pdfgen import canvas
from reportlab.lib.pagesizes import A4, A5, letter, landscape
from reportlab.lib.colors import HexColor

out = sys.argv[1]

def page_label(c, w, h, text):
    c.setStrokeColor(HexColor("#1d4e89"))
    c.rect(20, 20, w - 40, h - 40)
    c.setFont("Helvetica-Bold", 18)
    c.drawString(40, h - 60, text)
    c.setFont("Helvetica", 10)
    c.drawString(40, h - 80, f"MediaBox {w:.0f} x {h:.0f} pt; an arrow points to the top of the unrotated page")
    c.line(w / 2, h / 2, w / 2, h / 2 + 100)
    c.line(w / 2 - 10, h / 2 + 90, w / 2, h / 2 + 100)
    c.line(w / 2 + 10, h / 2 + 90, w / 2, h / 2 + 100)

# 1. rotated pages and mixed sizes
c = canvas.Canvas(os.path.join(out, "reportlab-rotated-90-270-mixed-sizes.pdf"), invariant=1,
                  pagesize=A4)
c.setTitle("Rotated pages and mixed sizes (veilsign test corpus)")
pages = [
    (A4, 0, "1: A4 portrait, /Rotate 0"),
    (A4, 90, "2: A4 portrait, /Rotate 90"),
    (letter, 270, "3: US Letter, /Rotate 270"),
    (A5, 0, "4: A5 portrait"),
    (landscape(A4), 0, "5: A4 landscape MediaBox, /Rotate 0"),
    (landscape(letter), 90, "6: Letter landscape MediaBox, /Rotate 90"),
    (A4, 180, "7: A4, /Rotate 180"),
]
for size, rot, label in pages:
    c.setPageSize(size)
    c.setPageRotation(rot)
    page_label(c, size[0], size[1], label)
    c.showPage()
c.save()

# 2. AcroForm with filled text fields, a checkbox and a choice field
c = canvas.Canvas(os.path.join(out, "reportlab-acroform-filled.pdf"), invariant=1, pagesize=A4)
c.setTitle("Filled form (veilsign test corpus)")
form = c.acroForm
c.setFont("Helvetica-Bold", 16)
c.drawString(60, 780, "Application form")
c.setFont("Helvetica", 11)
c.drawString(60, 740, "Name:")
form.textfield(name="name", value="Jane Example", x=160, y=732, width=250, height=20, borderStyle="inset", forceBorder=True)
c.drawString(60, 710, "City:")
form.textfield(name="city", value="Brussels", x=160, y=702, width=250, height=20, forceBorder=True)
c.drawString(60, 680, "Comment:")
form.textfield(name="comment", value="", x=160, y=620, width=350, height=72, fieldFlags="multiline", forceBorder=True)
c.drawString(60, 590, "Newsletter:")
form.checkbox(name="newsletter", checked=True, x=160, y=585, buttonStyle="check", size=16)
c.drawString(60, 560, "Country:")
form.choice(name="country", value="BE", options=["BE", "NL", "LU", "FR"], x=160, y=552, width=80, height=20)
c.showPage()
c.save()
