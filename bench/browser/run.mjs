// The browser rows of the bench (issues 5 and 7), in Debian's Chromium through
// playwright-core: open+prepare+digest in the veilsign worker against the browser's SHA-256
// floor (crypto.subtle.digest and hash-wasm, in a worker) and against the peers
// (@libpdf/core, zgapdfsigner) on the same file; the cold start to ready; the renderer's
// peak private memory while the worker starts, opens and prepares, against a worker that only
// hashes a copy of the document. Prints one JSON object on stdout; progress goes to stderr.
// Everything is served from 127.0.0.1.
//
//   node browser/run.mjs --doc out/docs/doc-50MB.pdf --cert c.der --key k.pk8 \
//     [--p12 signer.p12 --p12-pass bench] [--runs 3] [--peer-runs 2] [--cold-runs 5] \
//     [--peer-timeout-ms 120000] [--work out/browser]

import { mkdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { chromium } from "playwright-core";
import { parseArgs, serveStatic } from "./serve.mjs";
import { peakLowerBoundKB, privateKB, resetPeak, status, watchPrivate } from "../../tools/procmem.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const benchDir = dirname(here);
const repo = dirname(benchDir);

const opt = parseArgs(
  process.argv.slice(2),
  {
    doc: "",
    cert: "",
    key: "",
    p12: "",
    "p12-pass": "",
    runs: "5",
    "peer-runs": "2",
    "cold-runs": "5",
    "peer-timeout-ms": "120000",
    "budget-ms": "20000",
    work: join(benchDir, "out", "browser"),
    dist: join(repo, "js", "dist"),
    chromium: "/usr/bin/chromium",
  },
  ["doc", "cert", "key"],
);

const log = (...a) => console.error("browser:", ...a);

// ---- the page's files and a loopback static server ----

mkdirSync(opt.work, { recursive: true });
// The measuring workers import npm packages (and module workers have no import maps), so
// they are bundled: the zgapdfsigner one as a classic script, since it needs importScripts.
for (const [name, format] of [["measure-worker", "esm"], ["zga-worker", "iife"]]) {
  await esbuild.build({
    entryPoints: [join(here, "page", `${name}.js`)],
    outfile: join(opt.work, `${name}.js`),
    bundle: true,
    format,
    target: "es2022",
    platform: "browser",
    logLevel: "warning",
  });
}

const { server, base } = await serveStatic({
  mounts: {
    "/bench/": join(here, "page"),
    "/gen/": opt.work,
    "/dist/": opt.dist,
    "/m/": join(benchDir, "node_modules"),
  },
  // No --p12: "/signer.p12" maps to "" and is not served (zgapdfsigner is then skipped).
  files: { "/doc.pdf": opt.doc, "/cert.der": opt.cert, "/key.pk8": opt.key, "/signer.p12": opt.p12 },
});

// ---- Chromium ----

const browser = await chromium.launch({
  executablePath: opt.chromium,
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const result = { chromium: browser.version(), document: { bytes: statSync(opt.doc).size } };
const cdp = await browser.newBrowserCDPSession();

async function rendererPids() {
  const { processInfo } = await cdp.send("SystemInfo.getProcessInfo");
  return new Set(processInfo.filter((p) => p.type === "renderer").map((p) => p.id));
}

/** A fresh context and page on the bench page; the context is closed by the caller. */
async function freshPage() {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("console", (m) => m.type() === "error" && log("page:", m.text()));
  await page.goto(`${base}/bench/index.html`);
  await page.waitForFunction(() => globalThis.bench);
  return { context, page };
}

/** Runs fn(page) on a fresh page, closing it (and its workers) after timeoutMs. */
async function withPage(name, timeoutMs, fn) {
  const { context, page } = await freshPage();
  let timer;
  try {
    return await Promise.race([
      fn(page),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`gave up after ${timeoutMs / 1000} s`)), timeoutMs))),
    ]);
  } catch (err) {
    log(`${name}: ${err.message.split("\n")[0]}`);
    return { error: err.message.split("\n")[0].slice(0, 300) };
  } finally {
    clearTimeout(timer);
    await context.close();
  }
}

const runs = Number(opt.runs);
const budgetMs = Number(opt["budget-ms"]);
const peerRuns = Number(opt["peer-runs"]);
const peerTimeout = Number(opt["peer-timeout-ms"]);
const docURL = `${base}/doc.pdf`;

try {
  // Ours and the floor on the same page, interleaved run by run (ours, crypto.subtle,
  // hash-wasm, again…) so that a busy machine slows all three alike; best of each.
  log(`ours and the floor, ${(result.document.bytes / 2 ** 20).toFixed(1)} MB, best of ${runs}, interleaved`);
  Object.assign(
    result,
    await withPage("ours", 10 * 60_000, async (page) => {
      await page.evaluate((u) => bench.loadDocument(u), docURL);
      const version = await page.evaluate(() => bench.startVeilsign());
      await page.evaluate((u) => bench.startMeasureWorker(u), docURL);
      const runsOf = { ours: [], "crypto.subtle.digest": [], "hash-wasm": [] };
      const t0 = Date.now();
      for (let i = 0; i < runs && (i === 0 || Date.now() - t0 < budgetMs); i++) {
        runsOf.ours.push(await page.evaluate((u) => bench.oursOnce(u), "/cert.der"));
        runsOf["crypto.subtle.digest"].push(await page.evaluate(() => bench.measureOnce("subtle")));
        runsOf["hash-wasm"].push(await page.evaluate(() => bench.measureOnce("hashwasm")));
      }
      const hexes = new Set([...runsOf["crypto.subtle.digest"], ...runsOf["hash-wasm"]].map((r) => r.hex));
      if (hexes.size !== 1) throw new Error(`crypto.subtle and hash-wasm disagree: ${[...hexes].join(" ")}`);
      const best = (list) => list.reduce((a, b) => (b.ms < a.ms ? b : a));
      const summary = (list) => ({ best: best(list).ms, times: list.map((r) => r.ms) });
      const o = best(runsOf.ours);
      return {
        version,
        ours: {
          ...summary(runsOf.ours),
          endToEnd: { best: Math.min(...runsOf.ours.map((r) => r.endToEnd)), times: runsOf.ours.map((r) => r.endToEnd) },
          phases: o.phases,
          hashedWith: o.hashedWith,
          lowMemory: o.lowMemory === true,
          byteRange: o.byteRange,
        },
        floor: { "crypto.subtle.digest": summary(runsOf["crypto.subtle.digest"]), "hash-wasm": summary(runsOf["hash-wasm"]) },
      };
    }),
  );

  log(`@libpdf/core, best of ${peerRuns}`);
  const libpdfArgs = { keyURL: "/key.pk8", certURL: "/cert.der" };
  result.peers = {
    "@libpdf/core": await withPage("@libpdf/core", peerTimeout, (page) =>
      page.evaluate((a) => bench.inWorker(a), { script: "/gen/measure-worker.js", type: "module", op: "libpdf", args: libpdfArgs, docURL, runs: peerRuns, budgetMs }),
    ),
  };
  if (opt.p12) {
    log(`zgapdfsigner, best of ${peerRuns}`);
    const zgaArgs = { p12URL: "/signer.p12", password: opt["p12-pass"] };
    result.peers.zgapdfsigner = await withPage("zgapdfsigner", peerTimeout, (page) =>
      page.evaluate((a) => bench.inWorker(a), { script: "/gen/zga-worker.js", type: "classic", op: "zga", args: zgaArgs, docURL, runs: peerRuns, budgetMs }),
    );
  } else {
    result.peers.zgapdfsigner = { error: "no PKCS#12 of the dev key (openssl failed)" };
  }

  // Cold start: a new context each time, so nothing is cached (the server also says no-store).
  log(`cold start, best of ${opt["cold-runs"]}`);
  const cold = [];
  for (let i = 0; i < Number(opt["cold-runs"]); i++) {
    const r = await withPage("cold start", 60_000, (page) => page.evaluate(() => bench.coldStart()));
    if (r.error) throw new Error(`cold start: ${r.error}`);
    cold.push(r);
  }
  result.coldStart = { best: Math.min(...cold.map((c) => c.initializeMs)), runs: cold };

  // Memory varies from run to run (V8 tiers WASM code up in the background): the median of
  // up to three fresh pages for ours and as many for the floor, taken in turn, with every run's
  // figure beside it.
  const memRuns = Math.min(3, Number(opt["cold-runs"]));
  log(`worker peak memory, ours and the floor, median of ${memRuns}`);
  const ours = [];
  const floor = [];
  for (let i = 0; i < memRuns; i++) {
    ours.push(
      await measurePeak([
        ["ready", (page) => page.evaluate(() => bench.startVeilsign())],
        ["done", (page) => page.evaluate((u) => bench.oursOnce(u), "/cert.der")],
      ]),
    );
    floor.push(await measurePeak([["done", (page) => page.evaluate(() => bench.floorDigest())]]));
  }
  result.memory = medianRun(ours);
  result.memoryFloor = medianRun(floor);
} finally {
  await browser.close();
  server.close();
}
process.stdout.write(JSON.stringify(result) + "\n");

function mb(kb) {
  return kb / 1024;
}

/**
 * The renderer's peak memory while steps ([name, fn(page)] in order) run on a fresh page that
 * already holds its own copy of the document (the caller's bytes), above the renderer's memory
 * just before the first step. Workers run in their page's renderer process, so this is the
 * workers' memory plus whatever the page allocates meanwhile (the buffer it fills and hands
 * over). For each step, figures in MB so far:
 *   extraMB            the private footprint's peak: max(sampledExtraMB, lowerBoundExtraMB)
 *   sampledExtraMB     the largest RssAnon + VmSwap sampled while the steps ran
 *   lowerBoundExtraMB  VmHWM − RssFile − RssShmem, read after the step
 *   rssExtraMB         VmHWM − VmRSS before: the peak RSS, shared program pages included
 *   samples, maxGapMs  how often the sampler looked
 * The high-water mark is reset (clear_refs 5) just before the baseline is read.
 */
async function measurePeak(steps) {
  const before = await rendererPids();
  const { context, page } = await freshPage();
  try {
    const gc = await context.newCDPSession(page);
    const pid = await pageRenderer(page, gc, before);
    if (!pid) return { error: "no new renderer process found" };
    await page.evaluate((u) => bench.loadDocument(u), docURL);
    await gc.send("HeapProfiler.collectGarbage");
    resetPeak(pid);
    const base = status(pid);
    const out = { pid, baselineMB: mb(base.VmRSS), privateBaselineMB: mb(privateKB(base)) };
    const seen = { peakKB: 0, samples: 0, maxGapMs: 0 };
    for (const [name, fn] of steps) {
      const watch = watchPrivate([pid]);
      try {
        await fn(page);
      } finally {
        const w = (await watch.stop()).get(pid);
        seen.peakKB = Math.max(seen.peakKB, w.peakKB);
        seen.samples += w.samples;
        seen.maxGapMs = Math.max(seen.maxGapMs, w.maxGapMs);
      }
      const s = status(pid);
      // The kernel keeps no high-water mark of RssAnon, so the sampler may miss a short peak;
      // the figure is the larger of it and the kernel's bound: a missed sample can only make
      // it worse, never better.
      const lowerKB = peakLowerBoundKB(s);
      out[name] = {
        extraMB: mb(Math.max(seen.peakKB, lowerKB) - privateKB(base)),
        sampledExtraMB: mb(seen.peakKB - privateKB(base)),
        lowerBoundExtraMB: mb(lowerKB - privateKB(base)),
        rssExtraMB: mb(s.VmHWM - base.VmRSS),
        samples: seen.samples,
        maxGapMs: seen.maxGapMs,
      };
    }
    return out;
  } finally {
    await context.close();
  }
}

/**
 * The PID of page's renderer process: of the renderers that came with the page (Chromium may
 * also start a spare, and keep the one of the page's first, empty document for a while), the
 * one whose RSS grows when the page fills a 32 MB buffer, which is then dropped and collected.
 * (The largest RSS is no sign with a small document: the smoke run's 1 MB.)
 */
async function pageRenderer(page, gc, before) {
  const fresh = [...(await rendererPids())].filter((p) => !before.has(p));
  const rss = (p) => {
    try {
      return status(p).VmRSS;
    } catch {
      return 0; // gone meanwhile
    }
  };
  const rss0 = new Map(fresh.map((p) => [p, rss(p)]));
  await page.evaluate(() => (globalThis.marker = new Uint8Array(32 << 20).fill(1)).length);
  const grown = fresh.map((p) => ({ p, kb: rss(p) - rss0.get(p) })).sort((a, b) => b.kb - a.kb)[0];
  await page.evaluate(() => delete globalThis.marker);
  await gc.send("HeapProfiler.collectGarbage");
  return grown?.kb > 16 << 10 ? grown.p : 0;
}

/** The run whose final extraMB is the median, with every run's final figures beside it. */
function medianRun(runs) {
  const ok = runs.filter((r) => !r.error).sort((a, b) => a.done.extraMB - b.done.extraMB);
  if (!ok.length) return runs[0];
  return {
    ...ok[(ok.length - 1) >> 1],
    runsExtraMB: runs.map((r) => r.done?.extraMB ?? r.error),
    runsRssExtraMB: runs.map((r) => r.done?.rssExtraMB ?? r.error),
  };
}
