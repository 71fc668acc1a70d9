// The worker's core on this thread, below the public API: prepare over the corpus, the
// WebCrypto digest of the joined ranges against Node's own hash and against Go's, the
// fallback when the buffer has no room, and embed refusing a CMS that does not match —
// then accepting one made by a tool nobody here wrote (openssl cms), when it is installed.

import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Core } from "../dist/veilsign-worker.js";
import { jsDir, pdf, pdfDir, repoDir } from "./helpers.mjs";

const keys = join(repoDir, "testdata", "corpus", "keys");
const certPEM = readFileSync(join(keys, "test-signer.cert.pem"), "utf8");
const certDER = Buffer.from(certPEM.replace(/-----[^-]+-----|\s/g, ""), "base64");
const time = Date.UTC(2026, 0, 15, 10, 30, 0);
const ROOM = 4 << 20;

let core;
before(async () => {
  core = new Core();
  const bytes = readFileSync(join(jsDir, "dist", "veilsign.wasm"));
  await call("init", { bytes: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) });
});
after(() => call("close", {}));

async function call(op, args) {
  const [value] = await core.handle(op, args, () => {});
  return value;
}

/** Opens bytes the way index.ts does: one buffer with room after the document. */
async function openWithRoom(bytes, room = ROOM) {
  const buffer = new ArrayBuffer(bytes.length + room);
  new Uint8Array(buffer).set(bytes);
  const info = await call("open", { buffer, length: bytes.length });
  return { info, buffer };
}

function prepareArgs(label = "A", extra = {}) {
  const plan = { signers: [{ label, name: "Test Signer", method: "x509" }] };
  return { plan: JSON.stringify(plan), label, chain: [new Uint8Array(certDER)], options: { time, ...extra } };
}

/** The signed ranges of the prepared file held in buf, hashed by Node. */
function rangesOf(buf, br) {
  const all = Buffer.from(buf);
  return Buffer.concat([all.subarray(br[0], br[0] + br[1]), all.subarray(br[2], br[2] + br[3])]);
}

describe("prepare over the corpus", () => {
  const files = readdirSync(pdfDir).filter((f) => f.endsWith(".pdf") && !f.startsWith("fail-") && !f.startsWith("certified-"));
  for (const name of files) {
    test(name, async () => {
      const bytes = pdf(name);
      const { info, buffer } = await openWithRoom(bytes);
      const p = await call("prepare", prepareArgs());
      assert.equal(p.hashedWith, "webcrypto");
      assert.equal(p.hash, "sha256");
      assert.equal(p.layout.kind, info.signed ? "counter-signature" : "signature-page");
      const [b0, b1, b2, b3] = p.byteRange;
      assert.equal(b0, 0);
      assert.ok(b1 > bytes.length, "the first range ends inside the update");
      const whole = new Uint8Array(buffer);
      assert.equal(whole[b1], 0x3c, "the gap starts at '<'");
      assert.equal(whole[b2 - 1], 0x3e, "the gap ends after '>'");
      assert.ok((b2 - b1 - 2) / 2 >= p.reserved);
      // The buffer holds the prepared file: the document untouched, then the update.
      assert.ok(Buffer.from(buffer, 0, bytes.length).equals(bytes), "the document's bytes changed");
      const expected = createHash("sha256").update(rangesOf(buffer, p.byteRange)).digest();
      assert.ok(Buffer.from(p.digest).equals(expected), "WebCrypto digest differs from Node's hash of the ranges");
      assert.ok(b2 + b3 <= buffer.byteLength);
      // Go's hash of the same ranges (the fallback) agrees.
      const goDigest = await globalThis.__veilsign.digest(core.pending.prepared);
      assert.ok(Buffer.from(goDigest).equals(expected), "Go digest differs");
    });
  }
});

describe("digest fallbacks", () => {
  test("no room after the document: Go hashes, embed joins once", async () => {
    const bytes = pdf("groff-1.22-gropdf.pdf");
    const { buffer } = await openWithRoom(bytes, 0);
    const p = await call("prepare", prepareArgs());
    assert.equal(p.hashedWith, "go");
    // Prepare is a pure function of its inputs: the same time gives the same file.
    const again = await openWithRoom(bytes);
    const q = await call("prepare", prepareArgs());
    assert.equal(q.hashedWith, "webcrypto");
    assert.deepEqual(q.byteRange, p.byteRange);
    assert.ok(Buffer.from(q.digest).equals(Buffer.from(p.digest)));
    assert.equal(buffer.byteLength, bytes.length);
    assert.ok(again.buffer.byteLength > bytes.length);
  });

  test("pdfcore's own digest (goDigest) agrees with WebCrypto's", async () => {
    const bytes = pdf("luatex-1.15-objstm.pdf");
    await openWithRoom(bytes);
    const p = await call("prepare", prepareArgs("A", { hash: "sha512" }));
    assert.equal(p.hash, "sha512");
    assert.equal(p.digest.length, 64);
    const b = globalThis.__veilsign;
    const handle = core.doc.handle;
    const plan = JSON.stringify({ signers: [{ label: "A", name: "Test Signer", method: "x509" }] });
    const r = await b.prepare(handle, plan, "A", [new Uint8Array(certDER)], { time, hash: "sha512", goDigest: true });
    assert.ok(Buffer.from(r.digest).equals(Buffer.from(p.digest)));
    b.release(r.prepared);
  });

  test("bad arguments reach JavaScript as bad-argument", async () => {
    await openWithRoom(pdf("groff-1.22-gropdf.pdf"));
    await assert.rejects(call("prepare", { ...prepareArgs(), chain: [] }), { code: "bad-argument" });
    await assert.rejects(call("prepare", { ...prepareArgs(), chain: [new Uint8Array([1, 2, 3])] }), { code: "bad-argument" });
    await assert.rejects(call("prepare", prepareArgs("A", { hash: "md5" })), { code: "bad-argument" });
    await assert.rejects(call("prepare", prepareArgs("A", { ink: [[[0]]] })), { code: "bad-argument" });
    await assert.rejects(call("prepare", prepareArgs("A", { reserve: 10 })), { code: "bad-plan" });
  });
});

describe("embed", () => {
  test("a CMS that is not one is refused and the document stays open", async () => {
    const bytes = pdf("pdftex-1.40-pdf14-xref-table.pdf");
    const { buffer } = await openWithRoom(bytes);
    await call("prepare", prepareArgs());
    await assert.rejects(call("embed", { cms: new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01]) }), { code: "bad-cms" });
    await assert.rejects(call("embed", { cms: new Uint8Array(200_000) }), { code: "contents-too-small" });
    assert.ok(Buffer.from(buffer, 0, bytes.length).equals(bytes));
    const again = await call("prepare", prepareArgs());
    assert.equal(again.hashedWith, "webcrypto");
  });

  const openssl = spawnSync("openssl", ["version"]).status === 0;
  test("a CMS made by openssl over the ranges is checked and embedded", { skip: !openssl && "openssl is not installed (interop check skipped)" }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "veilsign-cms-"));
    try {
      const bytes = pdf("libreoffice-7.4-writer-xref-table.pdf");
      const { buffer } = await openWithRoom(bytes);
      const p = await call("prepare", prepareArgs());
      const cmsFor = (content) => {
        writeFileSync(join(dir, "content.bin"), content);
        execFileSync("openssl", ["cms", "-sign", "-binary", "-in", join(dir, "content.bin"), "-signer", join(keys, "test-signer.cert.pem"),
          "-inkey", join(keys, "test-signer.key.pem"), "-md", "sha256", "-outform", "DER", "-out", join(dir, "cms.der"), "-nosmimecap"]);
        return new Uint8Array(readFileSync(join(dir, "cms.der")));
      };
      // Signed over other bytes: its message-digest is not the prepared digest.
      await assert.rejects(call("embed", { cms: cmsFor(Buffer.from("another document")) }), { code: "digest-mismatch" });
      const { bytes: signed } = await call("embed", { cms: cmsFor(rangesOf(buffer, p.byteRange)) });
      assert.equal(signed.buffer, buffer, "the result is the document's own buffer, not a copy");
      assert.equal(signed.length, p.byteRange[2] + p.byteRange[3]);
      assert.ok(Buffer.from(signed.subarray(0, bytes.length)).equals(bytes));
      await assert.rejects(call("verify", {}), { code: "no-document" }, "embed closes the document");
      const rep = await call("verify", { bytes: signed.slice() });
      assert.equal(rep.signatures.length, 1);
      assert.equal(rep.signatures[0].integrity, "valid", JSON.stringify(rep.signatures[0]));
      assert.equal(rep.signatures[0].coversWholeDocument, true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
