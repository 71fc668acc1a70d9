// The demo's service worker: keeps the app, the veilsign package (with its WASM core) and
// pdf.js in a cache, so the page opens, prepares and verifies with the network off.
// Relay traffic (/v1/…, /demo/token, /itsme/…, /dev/…) is never cached.
// The version and the list of files are filled in by demo/build.mjs.

const VERSION = "__VERSION__";
const CACHE = `veilsign-demo-${VERSION}`;
const ASSETS = __ASSETS__;
const REVALIDATE = new Set(["/", "/demo/roots.pem", "/demo/eid"]);

self.addEventListener("install", (ev) => {
  ev.waitUntil(
    caches
      .open(CACHE)
      .then((c) => c.addAll([...ASSETS, ...REVALIDATE]))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (ev) => {
  ev.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("veilsign-demo-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (ev) => {
  const req = ev.request;
  if (req.method !== "GET") return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (REVALIDATE.has(url.pathname)) {
    // The page, the dev CA and the eID card's presence: fresh when online, the cached copy when not.
    ev.respondWith(
      fetch(req)
        .then((res) => {
          if (res.ok) {
            const copy = res.clone();
            caches.open(CACHE).then((c) => c.put(url.pathname, copy));
          }
          return res;
        })
        .catch(() => caches.match(url.pathname).then((r) => r ?? Response.error())),
    );
    return;
  }
  if (ASSETS.includes(url.pathname)) {
    // Versioned with this worker: the cache first (the WASM is 11 MB).
    ev.respondWith(caches.match(url.pathname).then((r) => r ?? fetch(req)));
  }
});
