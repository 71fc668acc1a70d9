#!/usr/bin/env python3
"""Writes a plain-text file of 100 x 60 lines (one page of enscript output per 60 lines).
The wording is generated here; made for veilsign, CC0."""
import sys
words = ("the provider client shall deliver report invoice record notice party "
         "period term service data consent signature document annex clause "
         "payment schedule breach remedy notice law court witness").split()
out = open(sys.argv[1], "w", encoding="ascii")
seed = 12345
for page in range(1, 101):
    for line in range(1, 61):
        if line == 1:
            out.write(f"Page {page} - terms and conditions, part {page}\n")
            continue
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        n = 6 + seed % 5
        ws = []
        for k in range(n):
            seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
            ws.append(words[seed % len(words)])
        out.write(f"{page}.{line:02d} " + " ".join(ws).capitalize() + ".\n")
out.close()
