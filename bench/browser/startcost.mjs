// What starting the veilsign worker costs in renderer memory, step by step, in Debian's
// Chromium (the breakdown behind run.mjs's worker peak memory). Prints a table per scenario on
// stderr and every run's figures as JSON on stdout.
//
//   node browser/startcost.mjs [--dist ../js/dist] [--runs 3] [--settle-ms 1500]
//     [--scenarios package,worker-bytes,...] [--driver plain|playwright]
//     [--js-flags "--no-wasm-lazy-compilation"] [--smaps-dir /tmp/smaps]
//
// Drivers. "plain" (the default) starts Chromium on the experiment page with no automation
// attached: the page runs the plan itself and asks this server to read /proc between steps.
// "playwright" drives the same steps through playwright-core, as run.mjs does; DevTools'
// network agent, which playwright enables in the page and in every worker, then keeps a copy
// of each response body the page or worker fetches (about 1.3× its size, until the worker
// ends), which a user's browser does not do: compare the two drivers' "fetch" rows.
//
// Each scenario runs on a fresh browser (plain) or a fresh context (playwright) `runs`
// times. The renderer is the one whose RSS grows when the page fills a 64 MB buffer; after
// that buffer is dropped and the page collected (gc(), hence --expose-gc, which changes
// nothing else), the renderer's high-water mark is reset (clear_refs 5) and the baseline
// read. After every step and a settle pause (V8 compiles and tiers up in the background)
// the renderer's VmRSS and VmHWM and its private footprint (RssAnon + VmSwap, what run.mjs
// reports: Chromium's measure, without file-backed or shared pages) are read from /proc, and
// /proc/<pid>/smaps is split into:
//   code   anonymous executable mappings (V8's JIT code: wasm Liftoff/TurboFan and JS)
//   wasm   the read-write mapping whose size is the instance's linear memory
//   anon   all other anonymous mappings (V8 heaps, ArrayBuffers, malloc, wire bytes, stacks)
//   file   file-backed mappings (Chromium's own code paged in, fonts, shared memory)
// Figures are MB above the baseline; the table shows the median over the runs.

import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { parseArgs, serveStatic } from "./serve.mjs";
import { privateKB, resetPeak, status } from "../../tools/procmem.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const benchDir = dirname(here);
const repo = dirname(benchDir);

// Nothing is required: only the full scenario needs --doc and --cert.
const opt = parseArgs(process.argv.slice(2), {
  dist: join(repo, "js", "dist"),
  runs: "3",
  "settle-ms": "1500",
  scenarios: "empty,package,page-streaming,worker-bytes,worker-streaming",
  driver: "plain",
  pdf: join(repo, "testdata", "pdf", "chromium-156-skia-print.pdf"),
  doc: "",
  cert: "",
  "js-flags": "",
  "smaps-dir": "",
  work: "/tmp/veilsign-startcost",
  chromium: "/usr/bin/chromium",
});
const log = (...a) => console.error("startcost:", ...a);
const settleMs = Number(opt["settle-ms"]);

mkdirSync(opt.work, { recursive: true });
if (opt["smaps-dir"]) mkdirSync(opt["smaps-dir"], { recursive: true });
await esbuild.build({
  entryPoints: [join(here, "page", "startcost-worker.js")],
  outfile: join(opt.work, "startcost-worker.js"),
  bundle: true,
  format: "esm",
  target: "es2022",
  platform: "browser",
  alias: { "go-wasm-exec": join(opt.dist, "wasm_exec.js") },
  logLevel: "warning",
});

// ---- the scenarios: [row name, step or list of steps] (page/startcost.js runs them) ----

const WASM = "/dist/veilsign.wasm";
const page = (op, args) => ({ on: "page", op, args });
const worker = (op, args) => ({ on: "worker", op, args });
const start = ["worker", page("startWorker", "/gen/startcost-worker.js")];
const gc = page("gc");
const run = [
  ["instantiate", worker("instantiate")],
  ["go.run", worker("run")],
  ["first call (open small pdf)", worker("open", { url: "/small.pdf" })],
];
// Most scenarios differ only in how the worker gets its compiled module: start the worker,
// those steps, then the same run and collection, so that their rows line up step by step.
const withModule = (...getModule) => [start, ...getModule, ...run, ["gc page + worker", gc]];
const postModule = ["post module, drop it", [page("post"), page("dropModule")]];
const fetchInWorker = ["fetch bytes (worker)", worker("fetchBytes", { url: WASM })];
const compileInWorker = ["compile(bytes)", worker("compile", { streaming: false })];
const dropInWorker = ["drop bytes", worker("dropBytes")];
const scenarios = {
  // An empty module worker (the bundle of wasm_exec.js and a message loop).
  empty: [start],
  // What js/src does: the module compiled (streaming) in a second worker that then ends,
  // posted to the core's worker.
  package: withModule(["compile in a worker that ends", page("compileInTempWorker", { url: WASM, script: "/gen/startcost-worker.js" })], postModule),
  // What js/src did before: compileStreaming in the page, the Module posted to the worker.
  "page-streaming": withModule(["compileStreaming (page)", page("compile", { url: WASM, streaming: true })], postModule),
  // The page fetches the bytes, compiles them, drops them, posts the Module.
  "page-bytes": withModule(
    ["fetch bytes (page)", page("fetchBytes", { url: WASM })],
    ["compile(bytes) (page)", page("compile", { streaming: false })],
    ["drop bytes", page("dropBytes")],
    postModule,
  ),
  // The core's worker fetches and compiles (arrayBuffer, then WebAssembly.compile).
  "worker-bytes": withModule(fetchInWorker, compileInWorker, dropInWorker),
  // As worker-bytes, but the bytes detached (ArrayBuffer.prototype.transfer(0)), not only dropped.
  "worker-bytes-detach": withModule(fetchInWorker, compileInWorker, ["detach bytes", worker("detachBytes")]),
  // As worker-bytes, but the bytes fetched with XMLHttpRequest (responseType arraybuffer).
  "worker-xhr": withModule(["xhr arraybuffer (worker)", worker("fetchBytes", { url: WASM, how: "xhr" })], compileInWorker, dropInWorker),
  "worker-streaming": [start, ["compileStreaming (worker)", worker("compile", { url: WASM, streaming: true })], ...run, ["drop module + gc", [worker("dropModule"), gc]]],
  // run.mjs's memory measurement (bench.js: the page holds the document; the package's
  // worker starts, opens and prepares it); needs --doc and --cert.
  full: {
    pre: [page("bench", { fn: "loadDocument", arg: "/doc.pdf" })],
    steps: [
      ["startVeilsign (ready)", page("bench", { fn: "startVeilsign" })],
      ["open + prepare + digest", page("bench", { fn: "oursOnce", arg: "/cert.der" })],
    ],
  },
  // Where a response body's memory goes: two fetches of the same body, dropped, then the worker ended.
  "fetch-only": [
    start,
    fetchInWorker,
    ["drop bytes + gc", [worker("dropBytes"), gc]],
    ["fetch bytes again", worker("fetchBytes", { url: WASM })],
    ["drop bytes + gc", [worker("dropBytes"), gc]],
    ["terminate worker + gc", [page("terminate"), gc]],
  ],
};

// ---- /proc ----

/** Rss (kB) of the renderer's mappings by kind; wasmBytes picks out the linear memory. */
function smaps(pid, wasmBytes, dump) {
  const text = readFileSync(`/proc/${pid}/smaps`, "utf8");
  if (dump) writeFileSync(dump, text);
  const cat = { code: 0, wasm: 0, anon: 0, file: 0 };
  let cur = null;
  const flush = () => {
    if (!cur) return;
    let c;
    if (cur.path && !cur.path.startsWith("[")) c = "file";
    else if (cur.perms.includes("x")) c = "code";
    else if (wasmBytes && cur.end - cur.start === wasmBytes && cur.perms.startsWith("rw")) c = "wasm";
    else c = "anon";
    cat[c] += cur.rss;
  };
  for (const line of text.split("\n")) {
    const h = line.match(/^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/);
    if (h) {
      flush();
      cur = { start: Number(BigInt("0x" + h[1])), end: Number(BigInt("0x" + h[2])), perms: h[3], path: h[4], rss: 0 };
    } else if (cur) {
      const r = line.match(/^Rss:\s+(\d+) kB/);
      if (r) cur.rss = Number(r[1]);
    }
  }
  flush();
  return cat;
}

/** The figures of one step, MB above the baseline b. */
function figures(pid, b, wasmBytes, dump) {
  const s = status(pid);
  const c = smaps(pid, wasmBytes, dump);
  const mb = (kb) => +(kb / 1024).toFixed(1);
  return { rss: mb(s.VmRSS - b.s.VmRSS), hwm: mb(s.VmHWM - b.s.VmRSS), private: mb(privateKB(s) - privateKB(b.s)), code: mb(c.code - b.c.code), wasm: mb(c.wasm), anon: mb(c.anon - b.c.anon), file: mb(c.file - b.c.file) };
}

function baseline(pid, dump) {
  resetPeak(pid);
  return { s: status(pid), c: smaps(pid, 0, dump) };
}

// ---- the server ----

let plainRun = null; // the plain driver's current run: {plan, onMeasure(query) → string}
const { server, base } = await serveStatic({
  mounts: { "/bench/": join(here, "page"), "/gen/": opt.work, "/dist/": opt.dist, "/m/": join(benchDir, "node_modules") },
  files: { "/small.pdf": opt.pdf, "/doc.pdf": opt.doc, "/cert.der": opt.cert },
  // The plain driver's page has no automation to talk to: it fetches its plan and reports
  // each step here, and this process reads /proc in between (see runPlain).
  handle(req, res, url) {
    if (plainRun && url.pathname === "/plan") {
      res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
      res.end(JSON.stringify({ pre: plainRun.pre, steps: plainRun.steps, settleMs }));
      return true;
    }
    if (plainRun && url.pathname === "/measure") {
      plainRun.onMeasure(Object.fromEntries(url.searchParams));
      res.writeHead(200, { "content-type": "text/plain", "cache-control": "no-store" });
      res.end("ok");
      return true;
    }
    return false;
  },
});

const jsFlags = ["--expose-gc", opt["js-flags"]].filter(Boolean).join(" ");
const chromeArgs = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", `--js-flags=${jsFlags}`];

// ---- plain driver: Chromium with no automation, one browser per run ----

function descendants(root) {
  const kids = new Map();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const ppid = Number(readFileSync(`/proc/${d}/stat`, "utf8").replace(/^.*\) /s, "").split(" ")[1]);
      if (!kids.has(ppid)) kids.set(ppid, []);
      kids.get(ppid).push(Number(d));
    } catch {}
  }
  const out = [];
  const walk = (p) => (kids.get(p) ?? []).forEach((k) => (out.push(k), walk(k)));
  walk(root);
  return out;
}
const isRenderer = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("--type=renderer");
  } catch {
    return false;
  }
};

async function runPlain(name, scenario, r) {
  const { pre = [], steps } = Array.isArray(scenario) ? { steps: scenario } : scenario;
  const userDir = join(opt.work, `profile-${process.pid}-${name}-${r}`);
  const proc = spawn(opt.chromium, [...chromeArgs, `--user-data-dir=${userDir}`, `${base}/bench/startcost.html?plain`], { stdio: "ignore" });
  const rows = [];
  let pid = 0;
  let b = null;
  try {
    await new Promise((resolveRun, rejectRun) => {
      const timer = setTimeout(() => rejectRun(new Error("plain run timed out")), 120_000);
      plainRun = {
        steps: steps.map(([n, s]) => [n, s]),
        pre,
        onMeasure(q) {
          try {
            if (q.at === "marker") {
              const rs = descendants(proc.pid).filter(isRenderer);
              pid = rs.map((p) => ({ p, rss: status(p).VmRSS })).sort((x, y) => y.rss - x.rss)[0].p;
            } else if (q.at === "baseline") {
              b = baseline(pid, opt["smaps-dir"] && join(opt["smaps-dir"], `${name}-${r}-base.smaps`));
            } else if (q.at === "done") {
              clearTimeout(timer);
              resolveRun();
            } else if (q.at === "error") {
              clearTimeout(timer);
              rejectRun(new Error(q.error));
            } else {
              const i = Number(q.at);
              const dump = opt["smaps-dir"] && join(opt["smaps-dir"], `${name}-${r}-${i}.smaps`);
              rows.push({ step: steps[i][0], ms: Math.round(Number(q.ms)), ...figures(pid, b, Number(q.memBytes), dump) });
            }
          } catch (err) {
            clearTimeout(timer);
            rejectRun(err);
          }
        },
      };
    });
  } finally {
    plainRun = null;
    proc.kill("SIGTERM");
    await new Promise((r) => proc.once("exit", r));
  }
  return { pid, baselineMB: +(b.s.VmRSS / 1024).toFixed(1), rows };
}

// ---- playwright driver: one browser, a fresh context per run ----

let browser = null;
async function runPlaywright(name, scenario, r) {
  const { pre = [], steps } = Array.isArray(scenario) ? { steps: scenario } : scenario;
  if (!browser) {
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({ executablePath: opt.chromium, headless: true, args: chromeArgs });
    browser.cdp = await browser.newBrowserCDPSession();
  }
  const context = await browser.newContext();
  const pg = await context.newPage();
  try {
    await pg.goto(`${base}/bench/startcost.html`);
    await pg.waitForFunction(() => globalThis.sc && globalThis.bench);
    for (const s of pre) await pg.evaluate((x) => sc.step(x), s);
    await pg.waitForTimeout(settleMs);
    const { processInfo } = await browser.cdp.send("SystemInfo.getProcessInfo");
    const pids = processInfo.filter((p) => p.type === "renderer").map((p) => p.id);
    const rss0 = new Map(pids.map((p) => [p, status(p).VmRSS]));
    await pg.evaluate(() => sc.step({ op: "marker", args: true }));
    const pid = pids.map((p) => ({ p, d: status(p).VmRSS - rss0.get(p) })).sort((x, y) => y.d - x.d)[0].p;
    await pg.evaluate(() => sc.step({ op: "marker", args: false }).then(() => gc()));
    await pg.waitForTimeout(settleMs);
    const b = baseline(pid, opt["smaps-dir"] && join(opt["smaps-dir"], `${name}-${r}-base.smaps`));
    const rows = [];
    for (const [i, [step, s]] of steps.entries()) {
      const t0 = performance.now();
      const v = await pg.evaluate((x) => sc.step(x), s);
      const ms = performance.now() - t0;
      await pg.waitForTimeout(settleMs);
      const memBytes = (await pg.evaluate(() => sc.step({ on: "worker", op: "memBytes" }).catch(() => 0))) || (typeof v === "number" ? v : 0);
      const dump = opt["smaps-dir"] && join(opt["smaps-dir"], `${name}-${r}-${i}.smaps`);
      rows.push({ step, ms: Math.round(ms), ...figures(pid, b, memBytes, dump) });
    }
    return { pid, baselineMB: +(b.s.VmRSS / 1024).toFixed(1), rows };
  } finally {
    await context.close();
  }
}

// ---- main ----

const out = { driver: opt.driver, jsFlags, wasmBytes: statSync(join(opt.dist, "veilsign.wasm")).size, scenarios: {} };
const cols = ["ms", "rss", "hwm", "private", "code", "wasm", "anon", "file"];
const med = (xs) => xs.slice().sort((a, b) => a - b)[(xs.length - 1) >> 1];
try {
  for (const name of opt.scenarios.split(",")) {
    const scenario = scenarios[name];
    if (!scenario) throw new Error(`unknown scenario ${name}`);
    const steps = Array.isArray(scenario) ? scenario : scenario.steps;
    const all = [];
    for (let r = 0; r < Number(opt.runs); r++) {
      log(`${name} run ${r + 1}/${opt.runs} (${opt.driver})`);
      all.push(await (opt.driver === "plain" ? runPlain : runPlaywright)(name, scenario, r));
    }
    out.scenarios[name] = all;
    console.error(`\n${name} (${opt.driver}, median of ${all.length}; MB above baseline: renderer rss, hwm and private footprint, then smaps rss by kind)`);
    console.error("step".padEnd(32) + cols.map((h) => h.padStart(8)).join(""));
    for (const [i, [step]] of steps.entries()) console.error(step.padEnd(32) + cols.map((k) => String(med(all.map((a) => a.rows[i][k]))).padStart(8)).join(""));
  }
} finally {
  await browser?.close();
  server.close();
}
process.stdout.write(JSON.stringify(out) + "\n");
