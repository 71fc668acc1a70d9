#!/usr/bin/env python3
"""Damages a PDF on purpose for the error-path files.  Made for veilsign, CC0.

  damage.py shift-offsets SRC DST   inserts a 37-byte comment after the header, then fixes
                                    startxref (so it finds the xref keyword) but leaves
                                    every xref entry 37 bytes short of its object
  damage.py truncate SRC DST        keeps the first 60 % of the file (no xref, no trailer)
  damage.py junk-after-eof SRC DST  appends a CRLF, 300 NUL bytes and a line of text after
                                    the last %%EOF (seen in files passed through mail
                                    gateways and download managers; readers accept it)
"""
import re
import sys

cmd, src, dst = sys.argv[1:4]
data = open(src, "rb").read()
if cmd == "shift-offsets":
    pad = b"%" + b"x" * 35 + b"\n"                     # 37 bytes
    nl = data.index(b"\n") + 1
    data = data[:nl] + pad + data[nl:]
    i = data.rindex(b"startxref")
    off = int(re.match(rb"startxref\s+(\d+)", data[i:]).group(1))
    assert data[off + len(pad):off + len(pad) + 4] == b"xref", "needs a classic xref table"
    data = data[:i] + b"startxref\n%d\n%%%%EOF\n" % (off + len(pad))
elif cmd == "truncate":
    data = data[:len(data) * 6 // 10]
elif cmd == "junk-after-eof":
    data = data + b"\r\n" + b"\0" * 300 + b"\nsaved by a download manager\n"
else:
    sys.exit(__doc__)
open(dst, "wb").write(data)
