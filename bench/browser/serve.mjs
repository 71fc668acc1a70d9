// What run.mjs, profile-prepare.mjs and startcost.mjs share: their command-line parsing and
// the loopback static server that hands the bench pages their files (their /proc reading is
// tools/procmem.mjs, shared with the browser tests). One copy, so that the scripts cannot
// drift apart in what they accept or how they serve.

import { createReadStream, statSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, resolve, sep } from "node:path";

/**
 * `--name value` pairs over a copy of defaults. Only names in defaults are accepted, each
 * with a value; each name in required must end up non-empty. Throws otherwise.
 */
export function parseArgs(argv, defaults, required = []) {
  const o = { ...defaults };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, "");
    if (!(k in o) || i + 1 >= argv.length) throw new Error(`unknown or incomplete argument ${argv[i]}`);
    o[k] = argv[i + 1];
  }
  for (const k of required) if (!o[k]) throw new Error(`--${k} is required`);
  return o;
}

// Module scripts and WASM streaming compilation check the content type, so it must be right.
const types = { ".js": "text/javascript", ".mjs": "text/javascript", ".html": "text/html", ".wasm": "application/wasm", ".pdf": "application/pdf" };

/**
 * Serves on 127.0.0.1 at a free port: files maps a URL path to one file (an empty path
 * means not served), mounts a URL prefix to a directory (nothing outside it is served).
 * Every answer is no-store, so a fresh browser context always fetches (and pays for) the
 * bytes again. handle(req, res, url), when given, sees each request first and returns true
 * when it has answered it: the scripts' own pages and endpoints.
 * Resolves to {server, base}, base being the origin without a trailing slash.
 */
export async function serveStatic({ mounts = {}, files = {}, handle } = {}) {
  // Resolved once, so a relative directory (--dist ../js/dist) passes the containment check.
  const roots = Object.entries(mounts).map(([prefix, dir]) => [prefix, resolve(dir)]);
  const pathFor = (urlPath) => {
    if (files[urlPath]) return files[urlPath];
    for (const [prefix, root] of roots) {
      if (!urlPath.startsWith(prefix)) continue;
      const p = join(root, decodeURIComponent(urlPath.slice(prefix.length)));
      return p.startsWith(root + sep) ? p : null;
    }
    return null;
  };
  const server = createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    if (handle?.(req, res, url)) return;
    const p = pathFor(url.pathname);
    let st = null;
    try {
      st = p && statSync(p);
    } catch {}
    if (!st || !st.isFile()) return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": types[extname(p)] ?? "application/octet-stream", "content-length": st.size, "cache-control": "no-store" });
    createReadStream(p).pipe(res);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { server, base: `http://127.0.0.1:${server.address().port}` };
}
