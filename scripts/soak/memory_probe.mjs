// tokengate's memory once a second, for the memory rules (memory_trend.mjs): RSS and its high-water mark from /proc,
// V8's heap (used, committed) and external memory from tokengate's /metrics (prom-client's default metrics, read at
// scrape time). Once a second so that each 30 s window sees the bottom of several GC cycles; the soak's 10 s samples
// (sampler.mjs) would land at random points of the sawtooth.
import { readFileSync } from 'node:fs';

/** VmRSS and VmHWM (peak RSS since the process started) in bytes; undefined once the process is gone. */
export function readRss(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

const METRICS = {
  heapUsed: 'nodejs_heap_size_used_bytes',
  heapTotal: 'nodejs_heap_size_total_bytes',
  external: 'nodejs_external_memory_bytes',
};

/** Starts probing; stop() ends it and returns { points: [{ tMs, rss, heapUsed, heapTotal, external }], hwm }. */
export function startMemoryProbe({ pid, ops, loadStart, intervalMs = 1000 }) {
  const points = [];
  let hwm;
  let busy = false;
  const probe = async () => {
    if (busy) return; // a slow scrape under load: skip a tick rather than pile up
    busy = true;
    try {
      const tMs = Date.now() - loadStart;
      const proc = readRss(pid);
      if (proc) hwm = proc.hwm;
      const point = { tMs, rss: proc?.rss };
      const text = await fetch(`${ops}/metrics`, { signal: AbortSignal.timeout(2000) }).then(
        (r) => r.text(),
        () => '',
      );
      for (const [key, name] of Object.entries(METRICS)) {
        const m = new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text);
        point[key] = m ? Number(m[1]) : undefined;
      }
      points.push(point);
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void probe(), intervalMs);
  return {
    points,
    stop() {
      clearInterval(timer);
      hwm = readRss(pid)?.hwm ?? hwm;
      return { points, hwm };
    },
  };
}
