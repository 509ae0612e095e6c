/**
 * One step of a decision, as `tokengate explain` and debug logs show it. The pipeline only builds these when
 * a trace is asked for, so the hot path pays nothing.
 */
export interface TraceStep {
  readonly step: string;
  readonly ok: boolean;
  readonly detail: string;
}

export type Trace = (step: TraceStep) => void;
