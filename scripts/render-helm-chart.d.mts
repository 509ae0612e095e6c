// Types for scripts/render-helm-chart.mjs (plain JS so it runs without a build step).
export const CHART: string;
/** [copy in the chart, its source], both absolute paths. */
export const CHART_FILES: [string, string][];
