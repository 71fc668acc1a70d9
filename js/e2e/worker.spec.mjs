// The package used from inside a Web Worker of the page's own (an offline-first front end
// that keeps its document work off the main thread): initialize() there starts the core's
// worker and its compiling worker as nested workers. The worker opens a PDF, signs it with the
// pen through a real relay and verifies it; the main thread only passes messages.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { demoToken, devRoots, pdf, startRelay } from "../test/helpers.mjs";
import { jsDir, launch, outDir } from "./lib.mjs";

const types = { ".js": "text/javascript", ".wasm": "application/wasm", ".html": "text/html" };
const files = {
  "/index.html": `<!doctype html><meta charset="utf-8"><title>veilsign in a worker</title><link rel="icon" href="data:,">`,
  "/app-worker.js": `import * as veilsign from "/veilsign.js";
const ready = veilsign.initialize();
onmessage = async ({ data: { doc, relay, token, roots } }) => {
  try {
    await ready;
    const info = await veilsign.open(doc);
    const box = { llx: 40, lly: 60, urx: 220, ury: 120 };
    const plan = { signers: [{ label: "A", name: "Ann Pen", method: "pen", field: { page: 1, rect: box } }] };
    const ink = [[[0.1, 0.2], [0.4, 0.8], [0.7, 0.3], [0.9, 0.6]]];
    const steps = [];
    const res = await veilsign.sign({ relay, token, signer: { name: "Ann Pen" }, method: "pen", label: "A", plan, ink, onStatus: (s) => steps.push(s.step) });
    const rep = await veilsign.verify(res.bytes, { roots });
    postMessage({ pages: info.pages, steps, bytes: res.bytes, summary: rep.summary, signatures: rep.signatures.map((s) => [s.method, s.integrity]) }, [res.bytes.buffer]);
  } catch (err) {
    postMessage({ error: String(err && err.stack || err), code: err && err.code });
  }
};
`,
};

let server, base, relay, browser, context;
const log = [];

before(async () => {
  relay = await startRelay();
  server = createServer((req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    const dist = ["/veilsign.js", "/veilsign-worker.js", "/veilsign.wasm"].includes(path) ? readFileSync(join(jsDir, "dist", path.slice(1))) : null;
    const body = dist ?? files[path];
    if (body === undefined) return res.writeHead(404).end();
    res.writeHead(200, { "content-type": types[path.slice(path.lastIndexOf("."))], "cache-control": "no-store" }).end(body);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${server.address().port}`;
  ({ browser, context } = await launch());
});

after(async () => {
  if (log.length) console.log(log.slice(-40).join("\n"));
  await browser?.close();
  server?.close();
  await relay?.stop();
});

test("inside a page's own worker: open, sign with the pen through the relay, verify", { timeout: 180_000 }, async () => {
  const page = await context.newPage();
  page.on("console", (m) => log.push(`[console.${m.type()}] ${m.text()}`));
  page.on("pageerror", (e) => log.push(`[pageerror] ${e.message}`));
  await page.goto(`${base}/index.html`);
  const original = pdf("libreoffice-7.4-writer-xref-table.pdf");
  const token = await demoToken(relay.base, "ann.pen");
  const out = await page.evaluate(
    ({ doc, relay, token, roots }) =>
      new Promise((resolve) => {
        const w = new Worker("/app-worker.js", { type: "module" });
        w.onmessage = (e) => resolve({ ...e.data, bytes: e.data.bytes && Array.from(e.data.bytes) });
        w.onerror = (e) => resolve({ error: e.message });
        w.postMessage({ doc: new Uint8Array(doc), relay, token, roots });
      }),
    { doc: Array.from(original), relay: relay.base, token, roots: devRoots(relay) },
  );
  assert.equal(out.error, undefined, `${out.code}: ${out.error}`);
  assert.ok(out.pages >= 1);
  assert.deepEqual(out.steps.slice(0, 2), ["connecting", "identifying"]);
  assert.equal(out.steps.at(-1), "done");
  assert.equal(out.summary, "Signed and all signatures are valid.");
  assert.deepEqual(out.signatures, [["pen", "valid"]]);
  const signed = Buffer.from(out.bytes);
  assert.ok(signed.subarray(0, original.length).equals(original), "the original bytes changed");
  const file = join(outDir, "worker-signed.pdf");
  writeFileSync(file, signed);
  const sig = spawnSync("pdfsig", [file], { encoding: "utf8" });
  assert.ok(!sig.error, "pdfsig (poppler-utils) is required: apt-get install poppler-utils");
  assert.match(sig.stdout, /Signature Validation: Signature is Valid/, sig.stdout + sig.stderr);
});
