// The package inside an MV3 extension, under the Content-Security-Policy js/README.md
// gives: an extension page (the core in a Web Worker) opens a PDF, signs it with the pen
// through a real relay that allows the extension's origin, and verifies it; the extension's
// service worker, where no worker can be started, verifies the result with the core on its
// own thread (initialize({ worker: false })). The CSP refuses eval and new Function: any use
// of them would show as a violation or a failure here.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { chromium } from "playwright-core";
import { demoToken, devRoots, pdf, startRelay } from "../test/helpers.mjs";
import { chromiumPath, jsDir, outDir, relayVerify } from "./lib.mjs";

// The policy of js/README.md, "Content-Security-Policy and MV3 extensions", word for word.
const extensionCSP = "script-src 'self' 'wasm-unsafe-eval'; object-src 'self'";

let dir, context, relay, id;
const log = [];
const violations = [];

/** An unpacked extension: the three dist/ files, a page and a module service worker. */
function writeExtension(to) {
  for (const f of ["veilsign.js", "veilsign-worker.js", "veilsign.wasm"]) copyFileSync(join(jsDir, "dist", f), join(to, f));
  const manifest = {
    manifest_version: 3,
    name: "veilsign e2e",
    version: "1.0",
    background: { service_worker: "sw.js", type: "module" },
    content_security_policy: { extension_pages: extensionCSP },
  };
  writeFileSync(join(to, "manifest.json"), JSON.stringify(manifest, null, 2));
  writeFileSync(join(to, "page.html"), `<!doctype html><meta charset="utf-8"><title>veilsign</title><script type="module" src="page.js"></script>\n`);
  const watch = `addEventListener("securitypolicyviolation", (e) => (globalThis.violations ??= []).push(e.violatedDirective + " " + e.blockedURI));\n`;
  writeFileSync(
    join(to, "page.js"),
    `${watch}import * as veilsign from "./veilsign.js";\nglobalThis.veilsign = veilsign;\nglobalThis.ready = veilsign.initialize();\n`,
  );
  writeFileSync(
    join(to, "sw.js"),
    `${watch}import * as veilsign from "./veilsign.js";\nimport { Core } from "./veilsign-worker.js";\nself.veilsign = veilsign;\n` +
      `self.ready = veilsign.initialize({ worker: false, core: Core });\n`,
  );
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "veilsign-extension-"));
  const ext = join(dir, "ext");
  mkdirSync(ext);
  writeExtension(ext);
  context = await chromium.launchPersistentContext(join(dir, "profile"), {
    executablePath: chromiumPath,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--disable-extensions-except=${ext}`,
      `--load-extension=${ext}`,
    ],
  });
  const sw = context.serviceWorkers()[0] ?? (await context.waitForEvent("serviceworker", { timeout: 30_000 }));
  id = new URL(sw.url()).host;
  // The relay accepts the extension's origin as a portal's: --origins / VEILSIGN_ORIGINS.
  relay = await startRelay({ env: { VEILSIGN_ORIGINS: `chrome-extension://${id}` } });
});

after(async () => {
  if (log.length) console.log(log.slice(-40).join("\n"));
  await context?.close();
  await relay?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const original = pdf("libreoffice-7.4-writer-xref-table.pdf");
let signed;

test("an extension page opens, signs (pen, through the relay) and verifies under the extension CSP", { timeout: 180_000 }, async () => {
  const page = await context.newPage();
  page.on("console", (m) => log.push(`[page ${m.type()}] ${m.text()}`));
  page.on("pageerror", (e) => log.push(`[pageerror] ${e.message}`));
  await page.goto(`chrome-extension://${id}/page.html`);
  await page.waitForFunction(() => globalThis.ready, null, { timeout: 30_000 });
  await page.evaluate(() => globalThis.ready);

  const token = await demoToken(relay.base, "ann.pen");
  const out = await page.evaluate(
    async ({ doc, relay, token, roots }) => {
      const bytes = Uint8Array.from(atob(doc), (c) => c.charCodeAt(0));
      const info = await veilsign.open(bytes);
      const box = { llx: 40, lly: 60, urx: 220, ury: 120 };
      const plan = { signers: [{ label: "A", name: "Ann Pen", method: "pen", field: { page: 1, rect: box } }] };
      const ink = [[[0.1, 0.2], [0.4, 0.8], [0.7, 0.3], [0.9, 0.6]]];
      const res = await veilsign.sign({ relay, token, signer: { name: "Ann Pen" }, method: "pen", label: "A", plan, ink });
      const rep = await veilsign.verify(res.bytes, { roots });
      let s = "";
      for (const b of res.bytes) s += String.fromCharCode(b);
      return { pages: info.pages, signed: btoa(s), summary: rep.summary, signatures: rep.signatures.map((x) => [x.method, x.integrity]), violations: globalThis.violations ?? [] };
    },
    { doc: original.toString("base64"), relay: relay.base, token, roots: devRoots(relay) },
  );
  violations.push(...out.violations);
  assert.ok(out.pages >= 1);
  assert.equal(out.summary, "Signed and all signatures are valid.");
  assert.deepEqual(out.signatures, [["pen", "valid"]]);
  assert.deepEqual(out.violations, [], "the page broke its Content-Security-Policy");
  signed = Buffer.from(out.signed, "base64");
  assert.ok(signed.subarray(0, original.length).equals(original), "the original bytes changed");
  const file = join(outDir, "extension-signed.pdf");
  writeFileSync(file, signed);

  const sig = spawnSync("pdfsig", [file], { encoding: "utf8" });
  assert.ok(!sig.error, "pdfsig (poppler-utils) is required: apt-get install poppler-utils");
  assert.match(sig.stdout, /Signature Validation: Signature is Valid/, sig.stdout + sig.stderr);
  assert.equal(relayVerify(assert, file, relay).valid, true);
});

test("the extension's service worker verifies with the core on its own thread", { timeout: 120_000 }, async () => {
  assert.ok(signed, "needs the page's signature");
  const sw = context.serviceWorkers().find((w) => w.url().startsWith(`chrome-extension://${id}/`));
  assert.ok(sw, "the extension's service worker is gone");
  const out = await sw.evaluate(
    async ({ doc, roots }) => {
      await self.ready;
      const rep = await veilsign.verify(Uint8Array.from(atob(doc), (c) => c.charCodeAt(0)), { roots });
      return { summary: rep.summary, count: rep.signatures.length, violations: self.violations ?? [] };
    },
    { doc: signed.toString("base64"), roots: devRoots(relay) },
  );
  assert.equal(out.summary, "Signed and all signatures are valid.");
  assert.equal(out.count, 1);
  assert.deepEqual(out.violations, [], "the service worker broke its Content-Security-Policy");
});
