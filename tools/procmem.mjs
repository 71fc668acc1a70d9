// A process's memory read from /proc (Linux), the one way the bench (bench/browser) and the
// browser tests (js/e2e) measure Chromium's renderers: Chromium's own private footprint,
// a sampler for its peak, and the kernel's bound on that peak so that a missed sample can
// only make a figure worse.

import { readFileSync, writeFileSync } from "node:fs";

/** The kB fields of /proc/<pid>/status (VmRSS, VmHWM…), by name. Throws once the process is gone. */
export function status(pid) {
  const out = {};
  for (const line of readFileSync(`/proc/${pid}/status`, "utf8").split("\n")) {
    const m = line.match(/^(\w+):\s+(\d+) kB/);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

/**
 * Chromium's "private memory footprint" of a process on Linux, in kB, from status(pid): RssAnon +
 * VmSwap (see bench/README.md). File-backed pages (the browser's own program paged in) and
 * shared memory are not in it.
 */
export function privateKB(s) {
  return s.RssAnon + (s.VmSwap ?? 0);
}

/** Resets the process's VmHWM to its current RSS (clear_refs 5), as the start of a peak. */
export function resetPeak(pid) {
  writeFileSync(`/proc/${pid}/clear_refs`, "5");
}

/**
 * The least the private footprint's peak since resetPeak can have been, from status read now:
 * VmHWM is the peak of RssAnon + RssFile + RssShmem, and file and shared pages only grow
 * while a browser runs, so at that peak RssAnon was at least VmHWM − RssFile − RssShmem.
 * (Should those pages shrink meanwhile, the bound overstates: worse, never better.)
 */
export function peakLowerBoundKB(s) {
  return s.VmHWM - (s.RssFile ?? 0) - (s.RssShmem ?? 0);
}

/**
 * Samples the private footprint of pids from this process about every intervalMs until
 * stop(), which resolves to a Map pid → { peakKB, samples, maxGapMs } (the largest sample,
 * how many, the longest gap between two). A process that has gone is no longer sampled.
 */
export function watchPrivate(pids, intervalMs = 1) {
  const seen = new Map(pids.map((pid) => [pid, { peakKB: 0, samples: 0, maxGapMs: 0, last: performance.now() }]));
  const sample = () => {
    for (const [pid, w] of seen) {
      let kb;
      try {
        kb = privateKB(status(pid));
      } catch {
        continue;
      }
      const now = performance.now();
      w.peakKB = Math.max(w.peakKB, kb);
      w.maxGapMs = Math.max(w.maxGapMs, now - w.last);
      w.samples++;
      w.last = now;
    }
  };
  let on = true;
  sample();
  const sampler = (async () => {
    while (on) {
      await new Promise((r) => setTimeout(r, intervalMs));
      sample();
    }
  })();
  return {
    async stop() {
      on = false;
      await sampler;
      return new Map([...seen].map(([pid, { peakKB, samples, maxGapMs }]) => [pid, { peakKB, samples, maxGapMs }]));
    },
  };
}
