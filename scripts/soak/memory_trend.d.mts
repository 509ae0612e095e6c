// Types for scripts/soak/memory_trend.mjs (plain JS so the soak runs without a build step).
export interface MemoryFloor {
  tMs: number;
  bytes: number;
}

export interface MemoryFloorTrend {
  windows: number;
  floors: MemoryFloor[];
  limit: number;
  firstHalfFloor: number | null;
  secondHalfFloor: number | null;
  growth: number | null;
  slopeBytesPerMin: number | null;
  pass: boolean;
  why: string | null;
}

export function memoryFloorTrend(
  points: { tMs: number; bytes: number | undefined }[],
  options: { fromMs: number; windowMs: number; limit: number },
): MemoryFloorTrend;

export function slope(pts: [number, number][]): number | null;
