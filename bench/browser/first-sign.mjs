// How long the first open + prepare + digest of a fresh page takes against the next ones
// (the bench's goal row is the best of several): N fresh pages, each starting the package's
// worker, idling a moment (as a page does while the signer reads), then three runs.
//
//   node browser/first-sign.mjs --doc out/docs/doc-50MB.pdf --cert out/browser/signer.der [--pages 5] [--idle-ms 1000]

import { chromium } from "playwright-core";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, serveStatic } from "./serve.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const opt = parseArgs(process.argv.slice(2), { dist: join(here, "..", "..", "js", "dist"), pages: "5", "idle-ms": "1000", doc: "", cert: "" }, ["doc", "cert"]);
const { server, base } = await serveStatic({
  mounts: { "/bench/": join(here, "page"), "/dist/": opt.dist },
  files: { "/doc.pdf": opt.doc, "/cert.der": opt.cert },
});
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const rows = [];
try {
  for (let i = 0; i < Number(opt.pages); i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base}/bench/index.html`);
    await page.waitForFunction(() => globalThis.bench);
    await page.evaluate(() => bench.loadDocument("/doc.pdf"));
    await page.evaluate(() => bench.startVeilsign());
    await page.waitForTimeout(Number(opt["idle-ms"]));
    const runs = [];
    for (let k = 0; k < 3; k++) runs.push(await page.evaluate(() => bench.oursOnce("/cert.der")));
    rows.push(runs.map((r) => Math.round(r.ms)));
    // The phases other than the page's copy, as oursOnce names them (prepare includes the
    // digest unless the document was hashed with no core loaded: then hash is its own).
    const phases = (r) => Object.entries(r.phases).filter(([k]) => k !== "copy").map(([k, v]) => `${k} ${Math.round(v)}`).join(", ");
    console.error(`page ${i + 1}: ${runs.map((r) => `${Math.round(r.ms)} (${phases(r)})`).join(", ")} ms`);
    await context.close();
  }
} finally {
  await browser.close();
  server.close();
}
const first = rows.map((r) => r[0]).sort((a, b) => a - b);
const rest = rows.flatMap((r) => r.slice(1)).sort((a, b) => a - b);
console.log(JSON.stringify({ firstMedian: first[first.length >> 1], restMedian: rest[rest.length >> 1], rows }));
