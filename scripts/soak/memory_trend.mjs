// Is memory flat over a run? Judged on the floor of the GC sawtooth, not on its peaks: a garbage-collected heap (and
// the RSS holding it) climbs between collections and drops after each, so any single sample after warm-up may sit at
// the top of a tooth, and the largest later one always does. A leak raises the floor; the sawtooth does not.
//
// The samples after warm-up are grouped into windows (several GC cycles each); each window's minimum is its floor.
// The verdict compares the lowest floor of the second half of the run with the lowest floor of the first half:
// growth = second / first - 1. A fitted line over the window floors (least squares) is reported beside it.
// Pure: no I/O, so the rule itself is unit-tested (test/soak_memory_trend.test.ts).

/**
 * @param {{ tMs: number, bytes: number | undefined }[]} points samples of one series (RSS, V8 heap used, ...), in time
 *   order; `tMs` from the start of load; undefined values (a failed read) are skipped
 * @param {{ fromMs: number, windowMs: number, limit: number }} options `fromMs`: the end of warm-up; `windowMs`: the
 *   window of one floor; `limit`: the largest growth that passes (0.1 = 10 %)
 */
export function memoryFloorTrend(points, { fromMs, windowMs, limit }) {
  const usable = points.filter((p) => p.tMs >= fromMs && Number.isFinite(p.bytes));
  const byWindow = new Map();
  for (const p of usable) {
    const w = Math.floor((p.tMs - fromMs) / windowMs);
    const win = byWindow.get(w) ?? { from: p.tMs, to: p.tMs, floor: p };
    win.to = p.tMs;
    if (p.bytes < win.floor.bytes) win.floor = p;
    byWindow.set(w, win);
  }
  // A window whose samples span less than half of it (the run's last, cut short) may have missed its GC: no floor.
  const floors = [...byWindow.entries()]
    .filter(([, win]) => win.to - win.from >= windowMs / 2)
    .sort((a, b) => a[0] - b[0])
    .map(([, win]) => ({ tMs: win.floor.tMs, bytes: win.floor.bytes }));
  const result = { windows: floors.length, floors, limit, firstHalfFloor: null, secondHalfFloor: null };
  // Two windows a half at least, or there is no trend to speak of.
  if (floors.length < 4)
    return { ...result, growth: null, slopeBytesPerMin: null, pass: false, why: 'too few windows' };
  const lowest = (fs) => Math.min(...fs.map((f) => f.bytes));
  const half = Math.floor(floors.length / 2); // an odd count's middle window belongs to neither half
  const first = lowest(floors.slice(0, half));
  const second = lowest(floors.slice(floors.length - half));
  const growth = second / first - 1;
  const pass = growth <= limit;
  return {
    ...result,
    firstHalfFloor: first,
    secondHalfFloor: second,
    growth,
    slopeBytesPerMin: slope(floors.map((f) => [f.tMs / 60_000, f.bytes])),
    pass,
    why: pass ? null : `floor grew ${(growth * 100).toFixed(1)} % from the first half to the second`,
  };
}

/** Least-squares slope of [x, y] points (y per unit of x); null when x does not vary. */
export function slope(pts) {
  const mean = (i) => pts.reduce((a, p) => a + p[i], 0) / pts.length;
  const [mx, my] = [mean(0), mean(1)];
  const den = pts.reduce((a, p) => a + (p[0] - mx) ** 2, 0);
  return den ? pts.reduce((a, p) => a + (p[0] - mx) * (p[1] - my), 0) / den : null;
}
