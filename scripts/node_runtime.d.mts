// Types for scripts/node_runtime.mjs (plain JS so it runs without a build step).
export interface NodeRuntime {
  /** Node flags between `node` and the script in the image's ENTRYPOINT. */
  flags: string[];
  /** The script the ENTRYPOINT runs, relative to the package root: the bundle (rolldown.config.mjs). */
  script: string;
  /** The MALLOC_* variables and NODE_OPTIONS of the image's ENV instructions. */
  env: Record<string, string>;
}

export function imageNodeRuntime(dockerfile?: string): NodeRuntime;
