// Builds the demo portal into relay/internal/demo/site/, which the relay embeds
// (`relay serve --demo` serves it at /). Needs `npm run build` first (dist/).
//
//   site/index.html            the page
//   site/sw.js                 the service worker, with the list of files and a version
//   site/static/demo.js        demo/demo.js bundled by esbuild (veilsign and pdf.js external)
//   site/static/demo.css
//   site/static/veilsign.js, veilsign-worker.js, veilsign.wasm   the package (dist/)
//   site/static/pdf.min.mjs, pdf.worker.min.mjs                 pdf.js (pdfjs-dist)

import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const demo = dirname(fileURLToPath(import.meta.url));
const pkg = dirname(demo);
const repo = dirname(pkg);
const dist = join(pkg, "dist");
const site = join(repo, "relay", "internal", "demo", "site");
const stat = join(site, "static");
const pdfjs = join(pkg, "node_modules", "pdfjs-dist", "build");

for (const f of ["veilsign.js", "veilsign-worker.js", "veilsign.wasm"]) {
  if (!existsSync(join(dist, f))) throw new Error(`dist/${f} is missing: run npm run build first`);
}
// Empty site/ but keep its .gitignore.
for (const e of existsSync(site) ? readdirSync(site) : []) if (e !== ".gitignore") rmSync(join(site, e), { recursive: true, force: true });
mkdirSync(stat, { recursive: true });

await esbuild.build({
  entryPoints: [join(demo, "demo.js")],
  outfile: join(stat, "demo.js"),
  bundle: true,
  format: "esm",
  target: "chrome120",
  minify: true,
  sourcemap: true,
  external: ["./veilsign.js", "./pdf.min.mjs"],
  logLevel: "warning",
});
for (const f of ["veilsign.js", "veilsign-worker.js", "veilsign.wasm"]) copyFileSync(join(dist, f), join(stat, f));
for (const f of ["pdf.min.mjs", "pdf.worker.min.mjs"]) copyFileSync(join(pdfjs, f), join(stat, f));
copyFileSync(join(demo, "demo.css"), join(stat, "demo.css"));
copyFileSync(join(demo, "index.html"), join(site, "index.html"));

const assets = readdirSync(stat).filter((f) => !f.endsWith(".map")).sort();
const hash = createHash("sha256");
for (const f of assets) hash.update(f).update(readFileSync(join(stat, f)));
hash.update(readFileSync(join(site, "index.html")));
const version = hash.digest("hex").slice(0, 16);
const sw = readFileSync(join(demo, "sw.js"), "utf8")
  .replace("__VERSION__", version)
  .replace("__ASSETS__", JSON.stringify(assets.map((f) => `/static/${f}`)));
writeFileSync(join(site, "sw.js"), sw);

const size = assets.reduce((n, f) => n + statSync(join(stat, f)).size, 0);
console.log(`demo built into ${site} (${assets.length} files, ${(size / 1e6).toFixed(1)} MB, version ${version})`);
console.log("rebuild the relay to embed it: go run ./relay serve --demo");
