// The package API against the real WASM core in its worker (worker_threads here):
// open, fields, preflight and verify over the whole testdata corpus, and the error codes,
// which must leave the caller's bytes as they were.

import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import * as veilsign from "../dist/veilsign.js";
import { pdf, pdfDir } from "./helpers.mjs";

before(async () => {
  await veilsign.initialize();
});
after(() => veilsign.terminate());

const plan = { signers: [{ label: "A", name: "Ada Lovelace", method: "itsme" }] };

describe("the testdata corpus", () => {
  const files = readdirSync(pdfDir).filter((f) => f.endsWith(".pdf") && !f.startsWith("fail-"));
  for (const name of files) {
    test(name, async () => {
      const bytes = pdf(name);
      const before = Buffer.from(bytes);
      const info = await veilsign.open(bytes);
      assert.ok(info.pages > 0);
      assert.equal(info.size, bytes.length);
      assert.match(info.version, /^[12]\.\d$/);
      assert.deepEqual(await veilsign.fields(), info.fields);
      for (const f of info.fields) assert.equal(typeof f.name, "string");
      if (info.mdp === 0) {
        const layout = await veilsign.preflight(plan, "A");
        assert.equal(layout.kind, info.signed ? "counter-signature" : "signature-page");
        assert.ok(layout.reason.length > 10);
      } else {
        await assert.rejects(veilsign.preflight(plan, "A"), { code: "no-changes-allowed" });
      }
      const rep = await veilsign.verify(bytes);
      assert.equal(rep.signatures.length > 0, info.signed, rep.summary);
      assert.ok(rep.revisions >= 1);
      // The open document verifies the same without being sent again.
      assert.deepEqual(await veilsign.verify(), rep);
      assert.ok(bytes.equals(before), "the caller's bytes changed");
    });
  }
});

describe("error codes", () => {
  const cases = [
    ["fail-not-pdf.pdf", "not-pdf"],
    ["fail-encrypted.pdf", "encrypted"],
    ["fail-encrypted-rc4-owner-only.pdf", "encrypted"],
    ["fail-damaged-xref.pdf", "damaged-xref"],
    ["fail-damaged-xref-offsets-shifted.pdf", "damaged-xref"],
    ["fail-truncated.pdf", "damaged-xref"],
  ];
  for (const [name, code] of cases) {
    test(`${name} → ${code}`, async () => {
      const bytes = pdf(name);
      const before = Buffer.from(bytes);
      const err = await veilsign.open(bytes).then(
        () => assert.fail("open succeeded"),
        (e) => e,
      );
      assert.ok(err instanceof veilsign.VeilsignError, String(err));
      assert.ok(err instanceof Error);
      assert.equal(err.code, code);
      assert.ok(err.message.length > 10 && !err.message.includes("(" + code + ")"), err.message);
      await assert.rejects(veilsign.verify(bytes), { code });
      assert.ok(bytes.equals(before), "the caller's bytes changed");
    });
  }

  test("certified with no changes allowed", async () => {
    const bytes = pdf("fail-certified-p1.pdf");
    const info = await veilsign.open(bytes);
    assert.equal(info.mdp, 1);
    await assert.rejects(veilsign.preflight(plan, "A"), { code: "no-changes-allowed" });
  });

  test("a bad plan", async () => {
    await veilsign.open(pdf("handmade-empty-sigfields.pdf"));
    await assert.rejects(veilsign.preflight({ signers: [{ label: "a", name: "x", method: "itsme" }] }, "a"), { code: "bad-plan" });
    await assert.rejects(veilsign.preflight({ signers: [] }, "A"), { code: "bad-plan" });
    await assert.rejects(veilsign.preflight(null, "A"), { code: "bad-plan" });
  });

  test("sign without a document, and options checked before any network", async () => {
    await veilsign.close();
    await assert.rejects(veilsign.fields(), { code: "no-document" });
    const o = { relay: "ws://127.0.0.1:9", token: "t", signer: { name: "A" }, method: "itsme", label: "A", plan };
    await assert.rejects(veilsign.sign(o), { code: "no-document" });
    await assert.rejects(veilsign.sign({ ...o, method: "fax" }), { code: "bad-argument" });
    await assert.rejects(veilsign.sign({ ...o, method: "tan" }), { code: "bad-argument" });
    await assert.rejects(veilsign.sign({ ...o, relay: "" }), { code: "bad-argument" });
  });

  test("verify with roots that are not PEM", async () => {
    await assert.rejects(veilsign.verify(pdf("signed-pdfsig-existing-field.pdf"), { roots: "nope" }), { code: "bad-argument" });
  });

  test("a Blob is copied exactly, read into the buffer (BYOB) or, where its stream cannot, in chunks", async () => {
    const bytes = pdf("signed-pdfsig-add-signature-libreoffice.pdf");
    // Parts that do not line up with the stream's chunks or the reads.
    const parts = [bytes.subarray(0, 1000), bytes.subarray(1000, 300_001), bytes.subarray(300_001)];
    const modes = [];
    // Records how the package reads it; the second kind's stream is not a byte stream.
    class Watched extends Blob {
      stream() {
        const s = super.stream();
        const get = s.getReader.bind(s);
        s.getReader = (o) => (modes.push(o?.mode ?? "default"), get(o));
        return s;
      }
    }
    class Chunked extends Blob {
      stream() {
        const r = super.stream().getReader();
        const s = new ReadableStream({
          async pull(c) {
            const { done, value } = await r.read();
            if (done) c.close();
            else c.enqueue(value);
          },
        });
        const get = s.getReader.bind(s);
        s.getReader = (o) => (modes.push(o?.mode ?? "default"), get(o));
        return s;
      }
    }
    for (const [blob, reads] of [
      [new Watched(parts), ["byob"]],
      [new Chunked(parts), ["byob", "default"]],
    ]) {
      modes.length = 0;
      const info = await veilsign.open(blob);
      assert.deepEqual(modes, reads);
      assert.equal(info.size, bytes.length);
      // The signature covers the whole file but its /Contents: one wrong byte and it breaks.
      const rep = await veilsign.verify();
      assert.equal(rep.signatures.length, 1);
      assert.equal(rep.signatures[0].integrity, "valid", JSON.stringify(rep.signatures[0]));
      assert.equal(rep.signatures[0].coversWholeDocument, true);
    }
  });

  test("verify takes a Blob (read into a buffer that moves to the worker) and reports as for its bytes", async () => {
    const bytes = pdf("signed-pdfsig-add-signature-libreoffice.pdf");
    const copy = Buffer.from(bytes);
    const fromBytes = await veilsign.verify(bytes);
    const fromBlob = await veilsign.verify(new Blob([bytes.subarray(0, 5000), bytes.subarray(5000)]));
    assert.deepEqual(fromBlob, fromBytes);
    assert.equal(fromBlob.signatures[0].integrity, "valid");
    assert.ok(copy.equals(bytes), "the caller's bytes are unchanged");
  });

  test("a Blob opens like bytes", async () => {
    const bytes = pdf("pdftex-1.40-pdf14-xref-table.pdf");
    const info = await veilsign.open(new Blob([bytes]));
    assert.equal(info.size, bytes.length);
    assert.equal(info.pages, 2);
  });
});
