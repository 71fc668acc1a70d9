// Where the WASM core's prepare spends its time in Chromium. run.mjs is the end-to-end bench
// (page → worker → open + prepare + WebCrypto digest); this is the zoom on prepare. It runs
// the package's own worker module (dist/veilsign-worker.js, its Core class) on the page's
// main thread, because a page's CDP session reaches its own isolate and not a worker's; the
// code V8 runs is the same. Two modes:
//
//   --mode prepare  open the document once, then time the prepare binding alone (as the
//                   worker calls it, goDigest off, so no hashing) --runs times;
//   --mode whole    time bench.js's oursOnce without the postMessage hops --runs times: copy
//                   into a buffer with room, open, the worker's prepare request (split into
//                   the binding, WebCrypto's digest and the rest) and close, each run
//                   followed by crypto.subtle.digest over the document (the floor);
//   --mode worker   the same in a dedicated worker, with the postMessage hops, as run.mjs
//                   measures it (the profile then sees only the page's side).
//
// Then it runs the same loop --profile-runs times under V8's sampling profiler (CDP
// Profiler) and prints the functions with the most self time per run ("top"), and once more
// with each prepare binding call profiled on its own ("topBinding", not in --mode worker). Prints one JSON
// object on stdout; progress goes to stderr.
//
// Go function names appear only when the WASM keeps its name section, i.e. is built
// without -s. A profiling copy of the package, from the repository root:
//
//   mkdir -p /tmp/prof && cp js/dist/*.js /tmp/prof/ &&
//     GOOS=js GOARCH=wasm go build -trimpath -o /tmp/prof/veilsign.wasm ./wasm
//   cd bench && node browser/profile-prepare.mjs --doc out/docs/doc-50MB.pdf \
//     --cert out/browser/signer.der --dist /tmp/prof [--mode prepare|whole] [--runs 30] \
//     [--profile-runs 60] [--top 40] [--interval-us 100] [--cpuprofile out.cpuprofile] \
//     [--cold-runs 5]
//
// --cold-runs adds the first prepare of that many fresh pages, profiled ("cold").
//
// --dist must hold veilsign.wasm and veilsign-worker.js from the same build (js/dist after
// npm run build has both, the WASM stripped).

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { parseArgs, serveStatic } from "./serve.mjs";

const opt = parseArgs(
  process.argv.slice(2),
  {
    doc: "",
    cert: "",
    dist: "",
    runs: "30",
    "profile-runs": "60",
    top: "40",
    mode: "prepare",
    "interval-us": "100",
    "cold-runs": "0",
    cpuprofile: "",
    chromium: "/usr/bin/chromium",
  },
  ["doc", "cert", "dist"],
);

const log = (...a) => console.error("profile:", ...a);

// The same plan and time as bench/browser/page/bench.js (and the native bench).
const PLAN = JSON.stringify({
  signers: [{ label: "A", name: "Jan Peeters", method: "x509", field: { page: 1, rect: { llx: 300, lly: 20, urx: 540, ury: 55 } } }],
});
const TIME = 1795000000000;

// The page, and the worker of --mode worker: both run the package's Core, with hooks that
// time the prepare binding and WebCrypto's digest inside the worker's prepare request.
// With __profBinding set, each prepare binding call runs inside console.profile(), which
// (with the Profiler domain enabled) records a profile of just that call: its Go code, the
// garbage collection it triggers and its calls into JavaScript.
const hooks = `
function hook(core, last) {
  const b = globalThis.__veilsign;
  const prepare = b.prepare;
  b.prepare = (...a) => {
    if (globalThis.__profBinding) console.profile("binding");
    const t0 = performance.now();
    return prepare(...a).then((v) => {
      last().binding = performance.now() - t0;
      if (globalThis.__profBinding) console.profileEnd("binding");
      return v;
    });
  };
  const subtle = crypto.subtle;
  const digest = subtle.digest.bind(subtle);
  subtle.digest = (...a) => {
    const t0 = performance.now();
    return digest(...a).then((v) => ((last().digest = performance.now() - t0), v));
  };
  return b;
}`;

const worker = `import { Core } from "/dist/veilsign-worker.js";
${hooks}
const core = new Core();
let last = {};
let doc = null;
self.onmessage = async (e) => {
  const { id, op, args } = e.data;
  try {
    last = {};
    let value, transfer = [];
    if (op === "floor") {
      const t0 = performance.now();
      await crypto.subtle.digest("SHA-256", doc);
      value = performance.now() - t0;
    } else {
      if (op === "open" && !doc) doc = new Uint8Array(args.buffer, 0, args.length).slice(); // for the floor
      [value, transfer] = await core.handle(op, args, () => {});
      if (op === "init") hook(core, () => last);
    }
    self.postMessage({ id, ok: true, value, timing: last }, transfer);
  } catch (err) {
    self.postMessage({ id, ok: false, error: String(err?.stack ?? err) });
  }
};`;

const page = `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">
<script type="module">
async function bytes(u) { return new Uint8Array(await (await fetch(u)).arrayBuffer()); }
const ROOM = 4 << 20; // what js/src/index.ts's open() leaves after the document
const PLAN = ${JSON.stringify(PLAN)};
${hooks}
globalThis.prof = {
  async start(inWorker) {
    const module = await WebAssembly.compileStreaming(fetch("/dist/veilsign.wasm"));
    this.last = {};
    let version;
    if (inWorker) {
      // Started under another name than "veilsign", so the package's own serve() stays off.
      const w = new Worker("/w.js", { type: "module", name: "profile" });
      let next = 1;
      const pending = new Map();
      w.onmessage = (e) => {
        const m = e.data;
        const p = pending.get(m.id);
        pending.delete(m.id);
        if (m.ok) {
          Object.assign(this.last, m.timing);
          p.resolve(m.value);
        } else p.reject(new Error(m.error));
      };
      this.call = (op, args, transfer = []) =>
        new Promise((resolve, reject) => {
          const id = next++;
          pending.set(id, { resolve, reject });
          w.postMessage({ id, op, args }, transfer);
        });
      ({ version } = await this.call("init", { module }));
    } else {
      // The package's worker module, run on this thread: its Core is what the worker serves.
      const { Core } = await import("/dist/veilsign-worker.js");
      const core = new Core();
      this.call = (op, args) => core.handle(op, args, () => {}).then(([v]) => v);
      ({ version } = await this.call("init", { module }));
      this.bindings = hook(core, () => this.last);
    }
    this.inWorker = inWorker;
    this.cert = await bytes("/cert.der");
    this.doc = await bytes("/doc.pdf");
    return { version, documentBytes: this.doc.length };
  },
  // One run of bench.js's oursOnce: copy into a buffer with room, open, prepare (binding +
  // WebCrypto digest + the rest: messages, copies), close.
  async once() {
    this.last = {};
    const t0 = performance.now();
    const buffer = new ArrayBuffer(this.doc.length + ROOM);
    new Uint8Array(buffer).set(this.doc);
    const t1 = performance.now();
    await this.call("open", { buffer, length: this.doc.length }, [buffer]);
    const t2 = performance.now();
    const p = await this.call("prepare", { plan: PLAN, label: "A", chain: [this.cert.slice()], options: { time: ${TIME} } });
    const t3 = performance.now();
    await this.call("close", {});
    const { binding, digest } = this.last;
    return { ms: t3 - t0, copy: t1 - t0, open: t2 - t1, prepare: t3 - t2, binding, digest, rest: t3 - t2 - binding - digest, hashedWith: p.hashedWith };
  },
  async floor() {
    if (this.inWorker) return this.call("floor", {});
    const t0 = performance.now();
    await crypto.subtle.digest("SHA-256", this.doc);
    return performance.now() - t0;
  },
  // n runs of once(), each followed by a floor digest (interleaved, as run.mjs does).
  async whole(n) {
    const runs = [];
    for (let i = 0; i < n; i++) {
      const r = await this.once();
      r.floor = await this.floor();
      runs.push(r);
    }
    return runs;
  },
  // n prepares of one open document: the binding alone, no digest (goDigest off).
  async prepare(n) {
    if (!this.handle) this.handle = (await this.bindings.open(this.doc)).handle;
    const times = [];
    let last;
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      const p = await this.bindings.prepare(this.handle, PLAN, "A", [this.cert.slice()], { time: ${TIME} });
      times.push(performance.now() - t0);
      this.bindings.release(p.prepared);
      last = { updateBytes: p.update.length, byteRange: p.byteRange };
    }
    return { times, last };
  },
};
</script>`;

// Of --dist, only the two files the page loads (of the same build: see the header).
const files = { "/doc.pdf": opt.doc, "/cert.der": opt.cert };
for (const f of ["veilsign.wasm", "veilsign-worker.js"]) files[`/dist/${f}`] = join(opt.dist, f);
const { server, base } = await serveStatic({
  files,
  // The page and its worker are the strings above, not files.
  handle(req, res, url) {
    const path = url.pathname;
    if (path !== "/" && path !== "/w.js") return false;
    res.writeHead(200, { "content-type": path === "/" ? "text/html" : "text/javascript" }).end(path === "/" ? page : worker);
    return true;
  },
});

const browser = await chromium.launch({ executablePath: opt.chromium, headless: true, args: ["--no-sandbox", "--disable-gpu"] });
const result = { chromium: browser.version(), dist: opt.dist };
try {
  const context = await browser.newContext();
  const pg = await context.newPage();
  pg.on("console", (m) => m.type() === "error" && log("page:", m.text()));
  pg.on("pageerror", (e) => log("page error:", e.message));
  await pg.goto(`${base}/`);
  await pg.waitForFunction(() => globalThis.prof);
  const whole = opt.mode === "whole" || opt.mode === "worker";
  Object.assign(result, await pg.evaluate((w) => prof.start(w), opt.mode === "worker"));
  // The first run pays the one-time costs (font parsing, V8 compiling the hot code).
  const first = whole ? (await pg.evaluate(() => prof.whole(1)))[0] : (await pg.evaluate(() => prof.prepare(1))).times[0];
  result.first = first;
  const n = Number(opt.runs);
  if (whole) {
    const runs = await pg.evaluate((k) => prof.whole(k), n);
    result.whole = {};
    for (const k of ["ms", "copy", "open", "prepare", "binding", "digest", "rest", "floor"]) result.whole[k] = stats(runs.map((r) => r[k]));
    result.hashedWith = runs[0].hashedWith;
    log(`whole: median ${result.whole.ms.median.toFixed(1)} ms, binding ${result.whole.binding.median.toFixed(2)} ms, digest ${result.whole.digest.median.toFixed(1)} ms, floor ${result.whole.floor.median.toFixed(1)} ms`);
  } else {
    const runs = await pg.evaluate((k) => prof.prepare(k), n);
    result.prepare = stats(runs.times);
    result.update = runs.last;
    log(`prepare: median ${result.prepare.median.toFixed(2)} ms, min ${result.prepare.min.toFixed(2)} ms over ${n}`);
  }

  const cdp = await context.newCDPSession(pg);
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: Number(opt["interval-us"]) });
  const pn = Number(opt["profile-runs"]);
  const loop = () => (whole ? pg.evaluate((k) => prof.whole(k), pn).then((r) => r.map((x) => x.ms)) : pg.evaluate((k) => prof.prepare(k), pn).then((r) => r.times));
  // The whole loop under one profile.
  await cdp.send("Profiler.start");
  result.profiled = stats(await loop());
  const { profile } = await cdp.send("Profiler.stop");
  if (opt.cpuprofile) writeFileSync(opt.cpuprofile, JSON.stringify(profile));
  result.top = selfTimes([profile], Number(opt.top), pn);
  // Then each binding call under its own (not in --mode worker: the page cannot reach it).
  if (opt.mode !== "worker") {
    const bindingProfiles = [];
    cdp.on("Profiler.consoleProfileFinished", (e) => bindingProfiles.push(e.profile));
    await pg.evaluate(() => (globalThis.__profBinding = true));
    result.profiledBinding = stats(await loop());
    await pg.evaluate(() => (globalThis.__profBinding = false));
    await new Promise((r) => setTimeout(r, 200));
    result.topBinding = selfTimes(bindingProfiles, Number(opt.top), bindingProfiles.length);
  }
  await context.close();

  // The first prepare of a fresh page (what a user signing once meets): one-time costs
  // such as parsing the fonts and V8 compiling the code on first use. Each in its own
  // context, profiled on its own.
  const cold = [];
  const coldProfiles = [];
  for (let i = 0; i < Number(opt["cold-runs"]); i++) {
    const ctx = await browser.newContext();
    const p = await ctx.newPage();
    await p.goto(`${base}/`);
    await p.waitForFunction(() => globalThis.prof);
    await p.evaluate(() => prof.start(false));
    const c = await ctx.newCDPSession(p);
    await c.send("Profiler.enable");
    await c.send("Profiler.setSamplingInterval", { interval: Number(opt["interval-us"]) });
    c.on("Profiler.consoleProfileFinished", (e) => coldProfiles.push(e.profile));
    await p.evaluate(() => (globalThis.__profBinding = true));
    cold.push(await p.evaluate(() => prof.once()));
    await new Promise((r) => setTimeout(r, 200));
    await ctx.close();
  }
  if (cold.length) {
    result.cold = { binding: stats(cold.map((r) => r.binding)), open: stats(cold.map((r) => r.open)), top: selfTimes(coldProfiles, Number(opt.top), coldProfiles.length) };
    log(`cold: first binding median ${result.cold.binding.median.toFixed(1)} ms`);
  }
} finally {
  await browser.close();
  server.close();
}
process.stdout.write(JSON.stringify(result, null, 1) + "\n");

function stats(times) {
  const s = [...times].sort((a, b) => a - b);
  return { median: s[s.length >> 1], min: s[0], max: s[s.length - 1], n: s.length };
}

/**
 * Self time per function over profiles, from the samples: each sample's time delta goes to
 * the node it hit. Functions are keyed by name and script, so the same Go function reached
 * along different stacks is one row. Idle is left out.
 */
function selfTimes(profiles, top, runs) {
  const self = new Map();
  let total = 0;
  for (const profile of profiles) {
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    for (let i = 0; i < profile.samples.length; i++) {
      const n = byId.get(profile.samples[i]);
      const us = profile.timeDeltas[i + 1] ?? 0;
      const name = n.callFrame.functionName || "(anonymous)";
      if (name === "(idle)") continue;
      const where = n.callFrame.url ? n.callFrame.url.replace(/^https?:\/\/[^/]+/, "") : "";
      add(self, `${name}${where.endsWith(".wasm") ? "" : where ? ` ${where}` : ""}`, us);
      total += us;
    }
  }
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  return {
    busyMsPerRun: +(total / 1000 / runs).toFixed(3),
    // "ms per run, share of the busy time, function"
    rows: rows.map(([name, us]) => `${(us / 1000 / runs).toFixed(3).padStart(7)} ${((100 * us) / total).toFixed(1).padStart(5)}%  ${name}`),
  };
}

function add(m, k, v) {
  m.set(k, (m.get(k) ?? 0) + v);
}
