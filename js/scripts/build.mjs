// Builds the package into dist/: the WASM core (go build of ../wasm), Go's wasm_exec.js
// from the same toolchain (it must match the compiler), the two ES module bundles and the
// type declarations. `--skip-wasm` rebuilds only the JavaScript.
//
// Run with GOTOOLCHAIN=go1.27.3 exported (the Makefile does); the go command fetches that
// toolchain when the installed one is older.

import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";
import { readFileSync } from "node:fs";
import * as esbuild from "esbuild";

const pkg = dirname(dirname(fileURLToPath(import.meta.url)));
const repo = dirname(pkg);
const dist = join(pkg, "dist");
mkdirSync(dist, { recursive: true });

const skipWasm = process.argv.includes("--skip-wasm");
const go = process.env.GO ?? "go";

if (!skipWasm) {
  const env = { ...process.env, GOOS: "js", GOARCH: "wasm" };
  execFileSync(go, ["build", "-trimpath", "-ldflags=-s -w", "-o", join(dist, "veilsign.wasm"), "./wasm"], { cwd: repo, env, stdio: "inherit" });
  const goroot = execFileSync(go, ["env", "GOROOT"], { cwd: repo, env, encoding: "utf8" }).trim();
  // Go 1.24 moved the file from misc/wasm to lib/wasm.
  const src = [join(goroot, "lib", "wasm", "wasm_exec.js"), join(goroot, "misc", "wasm", "wasm_exec.js")].find(existsSync);
  if (!src) throw new Error(`wasm_exec.js not found under ${goroot}`);
  // GOROOT's copy is read-only; ours must be replaceable by the next build.
  rmSync(join(dist, "wasm_exec.js"), { force: true });
  copyFileSync(src, join(dist, "wasm_exec.js"));
  chmodSync(join(dist, "wasm_exec.js"), 0o644);
  const wasm = readFileSync(join(dist, "veilsign.wasm"));
  const br = brotliCompressSync(wasm, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: wasm.length } });
  const mb = (n) => (n / 1e6).toFixed(2) + " MB";
  console.log(`veilsign.wasm: ${mb(wasm.length)} raw, ${mb(gzipSync(wasm, { level: 9 }).length)} gzip -9, ${mb(br.length)} brotli -11`);
}
if (!existsSync(join(dist, "wasm_exec.js"))) throw new Error("dist/wasm_exec.js is missing: build without --skip-wasm first");

const common = {
  bundle: true,
  format: "esm",
  target: "es2022",
  platform: "neutral",
  sourcemap: true,
  legalComments: "inline",
  logLevel: "warning",
};
await esbuild.build({ ...common, entryPoints: [join(pkg, "src", "index.ts")], outfile: join(dist, "veilsign.js") });
await esbuild.build({
  ...common,
  entryPoints: [join(pkg, "src", "worker.ts")],
  outfile: join(dist, "veilsign-worker.js"),
  alias: { "go-wasm-exec": join(dist, "wasm_exec.js") },
  // wasm_exec.js's licence header is a plain comment, which bundling drops: keep the notice.
  banner: { js: "/*! Includes Go's misc/wasm wasm_exec.js: Copyright 2018 The Go Authors. BSD-style licence, https://go.dev/LICENSE */" },
});
// Declarations of sources since removed must not ship: emit into a clean directory.
rmSync(join(dist, "types"), { recursive: true, force: true });
execFileSync(process.execPath, [join(pkg, "node_modules", "typescript", "bin", "tsc"), "-p", join(pkg, "tsconfig.json")], { stdio: "inherit" });
for (const f of ["veilsign.js", "veilsign-worker.js"]) console.log(`${f}: ${(statSync(join(dist, f)).size / 1e3).toFixed(1)} kB`);
