"""pdfmini: the small PDF writer used to hand-make parts of the veilsign test corpus.

Made for veilsign, CC0. Python 3 standard library only, plus the qpdf command-line
tool (used read-only, to print objects of an existing file before an update is appended).

Two jobs:
  * Doc            - write a whole file from scratch, with a classic xref table, an
                     xref stream (optionally with object streams), or a hybrid file
                     (classic table + /XRefStm).
  * append_update  - append one incremental update to an existing file, keeping every
                     byte before it; the update uses a classic table or an xref stream.
"""
import re
import subprocess
import zlib


def b(x):
    return x if isinstance(x, bytes) else x.encode("latin-1")


def stream_obj(dict_body, data, compress=True):
    """Returns the bytes of a stream object body (without 'N 0 obj')."""
    data = b(data)
    extra = b""
    if compress:
        data = zlib.compress(data, 9)
        extra = b" /Filter /FlateDecode"
    return b"<< " + b(dict_body) + extra + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


def pdf_string(text):
    """A literal string; non-ASCII text is written as UTF-16BE hex with BOM."""
    try:
        t = text.encode("ascii")
        t = t.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
        return b"(" + t + b")"
    except UnicodeEncodeError:
        return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode() + b">"


def xref_stream_data(entries, widths=(1, 4, 2)):
    """entries: list of (type, f2, f3) in /Index order."""
    out = bytearray()
    for t, f2, f3 in entries:
        for v, w in zip((t, f2, f3), widths):
            out += v.to_bytes(w, "big")
    return bytes(out)


def index_runs(nums):
    """Sorted object numbers -> list of (first, count) runs for /Index or xref subsections."""
    nums = sorted(nums)
    runs = []
    for n in nums:
        if runs and runs[-1][0] + runs[-1][1] == n:
            runs[-1][1] += 1
        else:
            runs.append([n, 1])
    return [(a, c) for a, c in runs]


class Doc:
    """A whole PDF written from scratch.  Object numbers are assigned by new()."""

    def __init__(self, version="1.7"):
        self.version = version
        self.objs = {}      # num -> body bytes (no "obj" / "endobj")
        self.count = 0

    def new(self):
        self.count += 1
        return self.count

    def set(self, num, body):
        self.objs[num] = b(body)

    def add(self, body):
        n = self.new()
        self.set(n, body)
        return n

    def header(self):
        return b"%PDF-" + b(self.version) + b"\n%\xe2\xe3\xcf\xd3\n"

    def _write_obj(self, out, num, body):
        off = len(out)
        out += b"%d 0 obj\n" % num + body + b"\nendobj\n"
        return off

    def write_classic(self, path, trailer):
        """Classic xref table, one subsection, free list with object 0 only."""
        out = bytearray(self.header())
        offs = {}
        for n in sorted(self.objs):
            offs[n] = self._write_obj(out, n, self.objs[n])
        size = max(self.objs) + 1
        xref = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f\r\n" % size
        for n in range(1, size):
            if n in offs:
                out += b"%010d 00000 n\r\n" % offs[n]
            else:
                out += b"0000000000 00001 f\r\n"
        out += b"trailer\n<< /Size %d " % size + b(trailer) + b" >>\nstartxref\n%d\n%%%%EOF\n" % xref
        open(path, "wb").write(out)

    def write_xref_stream(self, path, trailer, objstm=(), objstm_num=None):
        """Xref stream; the object numbers in objstm are stored in one object stream."""
        out = bytearray(self.header())
        offs = {}
        comp = {}
        if objstm:
            objstm_num = objstm_num or self.new()
            head, body = [], bytearray()
            for i, n in enumerate(objstm):
                head.append(b"%d %d" % (n, len(body)))
                body += self.objs[n] + b"\n"
                comp[n] = (objstm_num, i)
            h = b" ".join(head) + b"\n"
            self.objs[objstm_num] = stream_obj(b"/Type /ObjStm /N %d /First %d" % (len(objstm), len(h)), h + body)
        for n in sorted(self.objs):
            if n in comp:
                continue
            offs[n] = self._write_obj(out, n, self.objs[n])
        xnum = max(self.objs) + 1
        size = xnum + 1
        xoff = len(out)
        entries = [(0, 0, 65535)]
        for n in range(1, size):
            if n == xnum:
                entries.append((1, xoff, 0))
            elif n in comp:
                entries.append((2, comp[n][0], comp[n][1]))
            elif n in offs:
                entries.append((1, offs[n], 0))
            else:
                entries.append((0, 0, 1))
        data = xref_stream_data(entries)
        out += b"%d 0 obj\n" % xnum + stream_obj(
            b"/Type /XRef /Size %d /W [1 4 2] " % size + b(trailer), data) + b"\nendobj\n"
        out += b"startxref\n%d\n%%%%EOF\n" % xoff
        open(path, "wb").write(out)

    def write_hybrid(self, path, trailer, objstm):
        """Hybrid-reference file (ISO 32000-1 7.5.8.4): a classic table without entries
        for the compressed objects, the object stream and the xref stream, and a trailer
        /XRefStm pointing at an xref stream that gives their locations.  A PDF 1.4
        reader sees only the table."""
        out = bytearray(self.header())
        objstm_num = self.new()
        xnum = self.new()
        head, body = [], bytearray()
        comp = {}
        for i, n in enumerate(objstm):
            head.append(b"%d %d" % (n, len(body)))
            body += self.objs[n] + b"\n"
            comp[n] = (objstm_num, i)
        h = b" ".join(head) + b"\n"
        self.objs[objstm_num] = stream_obj(b"/Type /ObjStm /N %d /First %d" % (len(objstm), len(h)), h + body)
        offs = {}
        for n in sorted(self.objs):
            if n in comp:
                continue
            offs[n] = self._write_obj(out, n, self.objs[n])
        size = xnum + 1
        # the xref stream: entries only for the objects a 1.4 reader cannot see
        xoff = len(out)
        hidden = sorted(list(comp) + [objstm_num, xnum])
        runs = index_runs(hidden)
        entries = []
        for first, cnt in runs:
            for n in range(first, first + cnt):
                if n in comp:
                    entries.append((2, comp[n][0], comp[n][1]))
                elif n == xnum:
                    entries.append((1, xoff, 0))
                else:
                    entries.append((1, offs[n], 0))
        idx = b" ".join(b"%d %d" % r for r in runs)
        out += b"%d 0 obj\n" % xnum + stream_obj(
            b"/Type /XRef /Size %d /W [1 4 2] /Index [%s]" % (size, idx), xref_stream_data(entries)) + b"\nendobj\n"
        # the classic table lists only the objects a PDF 1.4 reader can use; the hidden
        # ones are left out (gaps between subsections), so a 1.5 reader takes them
        # from the /XRefStm stream.  (The spec's example instead marks them free in
        # the table; poppler 22 and MuPDF 1.21 then cannot find them, so it is not used.)
        table_off = len(out)
        out += b"xref\n0 1\n0000000000 65535 f\r\n"
        for first, cnt in index_runs([n for n in offs if n not in hidden]):
            out += b"%d %d\n" % (first, cnt)
            for n in range(first, first + cnt):
                out += b"%010d 00000 n\r\n" % offs[n]
        out += (b"trailer\n<< /Size %d /XRefStm %d " % (size, xoff) + b(trailer) +
                b" >>\nstartxref\n%d\n%%%%EOF\n" % table_off)
        open(path, "wb").write(out)


# ---------------------------------------------------------------- incremental updates

def qpdf_show(path, what):
    """The unparsed text of an object ("trailer" or an object number) as qpdf prints it."""
    r = subprocess.run(["qpdf", "--show-object=%s" % what, path], capture_output=True, check=True)
    return r.stdout.strip()


def page_refs(path):
    r = subprocess.run(["qpdf", "--show-pages", path], capture_output=True, check=True, text=True)
    return [int(m) for m in re.findall(r"^page \d+: (\d+) 0 R", r.stdout, re.M)]


def last_startxref(data):
    i = data.rindex(b"startxref")
    return int(data[i + 9:].split()[0])


def uses_xref_stream(data):
    off = last_startxref(data)
    return not data[off:off + 4] == b"xref"


def trailer_value(trailer, key):
    """Extracts the value of /Key from a qpdf-printed trailer dict (refs, names, numbers, arrays)."""
    m = re.search(rb"/" + key + rb" (\d+ \d+ R|\[[^\]]*\]|/[^\s/<>\[\]]+|\d+)", trailer)
    return m.group(1) if m else None


def dict_set(d, key, value):
    """Sets /key in a qpdf-printed dict '<< ... >>' (replaces a simple value or appends)."""
    d = d.strip()
    pat = rb"/" + key + rb" (\d+ \d+ R|\[[^\]]*\]|<<.*?>>|/[^\s/<>\[\]]+|\d+|\([^)]*\))"
    if re.search(pat, d, re.S):
        return re.sub(pat, lambda _m: b"/" + key + b" " + b(value), d, count=1, flags=re.S)
    assert d.endswith(b">>")
    return d[:-2].rstrip() + b" /" + key + b" " + b(value) + b" >>"


def append_update(src, dst, objs, xref_stream=None, trailer_extra=b"",
                  info=None, data=None, free=()):
    """Appends one incremental update to src and writes dst.

    objs: {num: body bytes} of new or changed objects (bodies without 'obj'/'endobj').
    free: object numbers deleted by this update (free entries, generation 1, linked
          from object 0's entry).
    xref_stream: None = same kind as the previous section; True/False to force.
    Returns the written bytes."""
    data = bytearray(data if data is not None else open(src, "rb").read())
    prev = last_startxref(data)
    trailer = qpdf_show(src, "trailer")
    size = int(trailer_value(trailer, b"Size"))
    root = trailer_value(trailer, b"Root")
    info_ref = info if info is not None else trailer_value(trailer, b"Info")
    ids = re.search(rb"/ID \[ ?<([0-9a-fA-F]*)> ?<([0-9a-fA-F]*)> ?\]", trailer)
    if xref_stream is None:
        xref_stream = uses_xref_stream(bytes(data))
    if not data.endswith(b"\n"):
        data += b"\n"
    offs = {}
    for n in sorted(objs):
        offs[n] = len(data)
        data += b"%d 0 obj\n" % n + b(objs[n]) + b"\nendobj\n"
    newsize = max([size] + [n + 1 for n in objs] + [n + 1 for n in free])
    tr = b"/Root " + root
    if info_ref:
        tr += b" /Info " + info_ref
    if ids:
        import hashlib
        newid = hashlib.md5(bytes(data)).hexdigest().encode()
        tr += b" /ID [<" + ids.group(1) + b"> <" + newid + b">]"
    tr += b" /Prev %d" % prev + b(trailer_extra)
    if xref_stream:
        xnum = newsize
        newsize += 1
        xoff = len(data)
        offs[xnum] = xoff
        runs = index_runs(list(offs) + list(free) + ([0] if free else []))
        freel = [0] + sorted(free)
        nxt = {freel[i]: freel[(i + 1) % len(freel)] for i in range(len(freel))}
        entries = []
        for first, cnt in runs:
            for n in range(first, first + cnt):
                if n in nxt:
                    entries.append((0, nxt[n], 65535 if n == 0 else 1))
                else:
                    entries.append((1, offs[n], 0))
        idx = b" ".join(b"%d %d" % r for r in runs)
        data += b"%d 0 obj\n" % xnum + stream_obj(
            b"/Type /XRef /Size %d /W [1 4 2] /Index [%s] " % (newsize, idx) + tr,
            xref_stream_data(entries)) + b"\nendobj\n"
        data += b"startxref\n%d\n%%%%EOF\n" % xoff
    else:
        xoff = len(data)
        data += b"xref\n"
        freel = [0] + sorted(free)
        nxt = {freel[i]: freel[(i + 1) % len(freel)] for i in range(len(freel))} if free else {}
        for first, cnt in index_runs(list(offs) + list(nxt)):
            data += b"%d %d\n" % (first, cnt)
            for n in range(first, first + cnt):
                if n in nxt:
                    data += b"%010d %05d f\r\n" % (nxt[n], 65535 if n == 0 else 1)
                else:
                    data += b"%010d 00000 n\r\n" % offs[n]
        data += b"trailer\n<< /Size %d " % newsize + tr + b" >>\nstartxref\n%d\n%%%%EOF\n" % xoff
    if dst:
        open(dst, "wb").write(data)
    return bytes(data)


def next_free_num(src):
    return int(trailer_value(qpdf_show(src, "trailer"), b"Size"))


# ---------------------------------------------------------------- tiny object model
# Enough to edit the dictionaries that qpdf --show-object prints (it prints them in
# normalised PDF syntax on one line).  Strings, numbers and keywords are kept as raw tokens.

class Name(str):
    pass


class Ref(tuple):
    pass


class Raw(bytes):
    pass


_DELIM = b"()<>[]{}/%"
_WS = b" \t\r\n\f\x00"


def parse(text):
    """Parses one PDF object from bytes; returns Python structures."""
    obj, _ = _parse(b(text), 0)
    return obj


def _skip(s, i):
    while i < len(s) and s[i] in _WS:
        i += 1
    return i


def _parse(s, i):
    i = _skip(s, i)
    c = s[i:i + 1]
    if s.startswith(b"<<", i):
        d = {}
        i += 2
        while True:
            i = _skip(s, i)
            if s.startswith(b">>", i):
                return d, i + 2
            k, i = _parse(s, i)
            v, i = _parse(s, i)
            d[k] = v
    if c == b"[":
        a = []
        i += 1
        while True:
            i = _skip(s, i)
            if s[i:i + 1] == b"]":
                return a, i + 1
            v, i = _parse(s, i)
            a.append(v)
    if c == b"/":
        j = i + 1
        while j < len(s) and s[j] not in _WS and s[j] not in _DELIM:
            j += 1
        return Name(s[i + 1:j].decode("latin-1")), j
    if c == b"(":
        depth, j = 0, i
        while True:
            ch = s[j:j + 1]
            if ch == b"\\":
                j += 2
                continue
            if ch == b"(":
                depth += 1
            elif ch == b")":
                depth -= 1
                if depth == 0:
                    return Raw(s[i:j + 1]), j + 1
            j += 1
    if c == b"<":
        j = s.index(b">", i)
        return Raw(s[i:j + 1]), j + 1
    j = i
    while j < len(s) and s[j] not in _WS and s[j] not in _DELIM:
        j += 1
    tok = s[i:j]
    # indirect reference "n g R"?
    m = re.match(rb"\s*(\d+)\s+R(?![A-Za-z])", s[j:])
    if tok.isdigit() and m:
        return Ref((int(tok), int(m.group(1)))), j + m.end()
    return Raw(tok), j


def ser(o):
    if isinstance(o, dict):
        return b"<< " + b" ".join(ser(Name(k)) + b" " + ser(v) for k, v in o.items()) + b" >>"
    if isinstance(o, list):
        return b"[" + b" ".join(ser(v) for v in o) + b"]"
    if isinstance(o, Name):
        return b"/" + o.encode("latin-1")
    if isinstance(o, Ref):
        return b"%d %d R" % o
    if isinstance(o, (bytes, bytearray)):
        return bytes(o)
    if isinstance(o, int):
        return b"%d" % o
    if isinstance(o, str):
        return pdf_string(o)
    raise TypeError(o)


def get_obj(src, num):
    return parse(qpdf_show(src, str(num)))


def resolve(src, o):
    return get_obj(src, o[0]) if isinstance(o, Ref) else o


def root_ref(src):
    return parse(qpdf_show(src, "trailer"))["Root"]


def add_annot_and_field(src, page_num, annot_num, field_num=None, sigflags=None, catalog_extra=None):
    """Returns {num: body} of the changed page, catalog (and AcroForm/Annots arrays if
    indirect) that add annotation annot_num to page page_num and field field_num to
    the AcroForm (field_num None: annot_num is also the field)."""
    changed = {}
    field_num = field_num or annot_num
    page = get_obj(src, page_num)
    annots = page.get("Annots")
    if isinstance(annots, Ref):
        arr = get_obj(src, annots[0])
        changed[annots[0]] = ser(arr + [Ref((annot_num, 0))])
    else:
        page["Annots"] = (annots or []) + [Ref((annot_num, 0))]
        changed[page_num] = ser(page)
    rref = root_ref(src)
    cat = get_obj(src, rref[0])
    af = cat.get("AcroForm")
    af_obj = resolve(src, af) if af is not None else {}
    fields = af_obj.get("Fields", [])
    if isinstance(fields, Ref):
        arr = get_obj(src, fields[0])
        changed[fields[0]] = ser(arr + [Ref((field_num, 0))])
    else:
        af_obj["Fields"] = fields + [Ref((field_num, 0))]
    if sigflags is not None:
        af_obj["SigFlags"] = Raw(b"%d" % sigflags)
    if isinstance(af, Ref):
        changed[af[0]] = ser(af_obj)
    else:
        cat["AcroForm"] = af_obj
    if catalog_extra:
        cat.update(catalog_extra)
    if not isinstance(af, Ref) or catalog_extra:
        changed[rref[0]] = ser(cat)
    return changed
