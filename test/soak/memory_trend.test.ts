// The soak's memory rule (scripts/soak/memory_trend.mjs) on synthetic series shaped like what a soak samples: a GC
// sawtooth passes whatever its phase, a leak under the same sawtooth fails. The rule it replaced (first sample after
// warm-up against the largest later one) is checked on the same data, to show why it had to go.
import { describe, expect, it } from 'vitest';
import { memoryFloorTrend, slope } from '../../scripts/soak/memory_trend.mjs';
import { seededRandom as random } from '../helpers/random.js';

const MiB = 1024 * 1024;
const RULE = { fromMs: 60_000, windowMs: 30_000, limit: 0.1 };


interface Shape {
  minutes: number;
  /** The floor (live memory after a full GC) at t = 0, and how fast it rises (a leak). */
  floorMiB: number;
  leakMiBPerMin?: number;
  /** A tooth: memory climbs by `toothMiB` over `periodS`, then a GC drops it back to the floor. */
  toothMiB: number;
  periodS: number;
  /** Where in its tooth the run starts, 0..1. */
  phase?: number;
  sampleS?: number;
  seed?: number;
}

function sawtooth(s: Shape): { tMs: number; bytes: number }[] {
  const rnd = random(s.seed ?? 1);
  const points = [];
  const step = s.sampleS ?? 1;
  for (let t = 0; t <= s.minutes * 60; t += step) {
    const inTooth = ((t / s.periodS + (s.phase ?? 0)) % 1) * s.toothMiB;
    const noise = rnd() * 0.5;
    const mib = s.floorMiB + ((s.leakMiBPerMin ?? 0) * t) / 60 + inTooth + noise;
    points.push({ tMs: t * 1000, bytes: Math.round(mib * MiB) });
  }
  return points;
}

/** The soak's old rule: growth from the first sample after warm-up to the largest later sample. */
function singleSampleGrowth(points: { tMs: number; bytes: number }[]): number {
  const after = points.filter((p) => p.tMs >= RULE.fromMs);
  return Math.max(...after.slice(1).map((p) => p.bytes)) / after[0]!.bytes - 1;
}

describe('memoryFloorTrend: the soak memory rule', () => {
  it('passes a GC sawtooth with no leak, whatever phase the run starts in (the single-sample rule fails it)', () => {
    for (const phase of [0, 0.25, 0.5, 0.9]) {
      const points = sawtooth({ minutes: 10, floorMiB: 100, toothMiB: 60, periodS: 7, phase, seed: 7 + phase * 10 });
      const trend = memoryFloorTrend(points, RULE);
      expect(trend.pass, `phase ${phase}: ${trend.why}`).toBe(true);
      expect(Math.abs(trend.growth!)).toBeLessThan(0.02);
      expect(Math.abs(trend.slopeBytesPerMin! / MiB)).toBeLessThan(0.2);
      expect(trend.windows).toBe(18);
    }
    // The same data under the old rule: a sample at the bottom of a tooth against the top of another.
    const startsLow = sawtooth({ minutes: 10, floorMiB: 100, toothMiB: 60, periodS: 7, phase: 0.9, seed: 3 });
    expect(singleSampleGrowth(startsLow)).toBeGreaterThan(0.1);
  });

  it('passes a slow sawtooth whose full GCs are further apart than a window (some windows see no GC)', () => {
    const points = sawtooth({ minutes: 10, floorMiB: 60, toothMiB: 40, periodS: 45, phase: 0.3 });
    const trend = memoryFloorTrend(points, RULE);
    expect(trend.pass, String(trend.why)).toBe(true);
    expect(trend.floors.some((f) => f.bytes > 70 * MiB)).toBe(true); // windows without a GC: a high floor
  });

  it('fails a leak of 4 MiB/min under the same sawtooth, and reports its slope', () => {
    const points = sawtooth({ minutes: 10, floorMiB: 100, leakMiBPerMin: 4, toothMiB: 60, periodS: 7, phase: 0.5 });
    const trend = memoryFloorTrend(points, RULE);
    expect(trend.pass).toBe(false);
    expect(trend.growth!).toBeGreaterThan(0.1);
    expect(trend.why).toMatch(/^floor grew \d+\.\d % from the first half to the second$/);
    expect(trend.slopeBytesPerMin! / MiB).toBeGreaterThan(3.8);
    expect(trend.slopeBytesPerMin! / MiB).toBeLessThan(4.2);
  });

  it('fails a floor that steps up once in the first half and stays up', () => {
    const points = sawtooth({ minutes: 10, floorMiB: 80, toothMiB: 30, periodS: 5 }).map((p) =>
      p.tMs > 240_000 ? { ...p, bytes: p.bytes + 20 * MiB } : p,
    );
    const trend = memoryFloorTrend(points, RULE);
    expect(trend.pass).toBe(false);
    expect(trend.secondHalfFloor! - trend.firstHalfFloor!).toBeGreaterThan(19 * MiB);
  });

  it('ignores the warm-up and failed reads, and refuses to judge a run with too few windows', () => {
    const growingThenFlat = sawtooth({ minutes: 10, floorMiB: 100, toothMiB: 20, periodS: 5 }).map((p) => ({
      tMs: p.tMs,
      bytes: p.tMs < 60_000 ? p.bytes / 2 : p.tMs % 7000 === 0 ? undefined : p.bytes,
    }));
    expect(memoryFloorTrend(growingThenFlat, RULE).pass).toBe(true);
    const short = memoryFloorTrend(sawtooth({ minutes: 2, floorMiB: 100, toothMiB: 20, periodS: 5 }), RULE);
    expect(short).toMatchObject({ pass: false, why: 'too few windows', windows: 2, growth: null });
  });

  it('slope: least squares, null without spread in x', () => {
    expect(
      slope([
        [0, 1],
        [1, 3],
        [2, 5],
      ]),
    ).toBe(2);
    expect(
      slope([
        [1, 1],
        [1, 2],
      ]),
    ).toBeNull();
  });
});
