import { realpathSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

export interface ConfigWatcher {
  close(): void;
}

export interface WatchOptions {
  /** Collapse a burst of events (an editor's save, the kubelet's symlink swap) into one reload. */
  readonly debounceMs?: number;
  /** Backstop for filesystems whose events go missing: compare the file's resolved path and contents' stamp. */
  readonly pollMs?: number;
}

/**
 * Calls `onChange` when the config file changes. Watches the file's directory rather than the file: a Kubernetes
 * ConfigMap update replaces the `..data` symlink atomically, which a watch on the file itself never sees.
 */
export function watchConfig(path: string, onChange: () => void, options: WatchOptions = {}): ConfigWatcher {
  const debounceMs = options.debounceMs ?? 200;
  let timer: NodeJS.Timeout | undefined;
  let lastStamp = stamp(path);
  const fire = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      lastStamp = stamp(path);
      onChange();
    }, debounceMs);
    timer.unref();
  };
  const name = basename(path);
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(path), (_event, file) => {
      // `..data` is what the kubelet swaps; other names in the directory are unrelated files.
      if (file === null || file === name || file === '..data' || String(file).startsWith('..')) fire();
    });
    watcher.on('error', () => undefined);
    watcher.unref();
  } catch {
    watcher = undefined;
  }
  const poll = setInterval(() => {
    if (stamp(path) !== lastStamp) fire();
  }, options.pollMs ?? 5000);
  poll.unref();
  return {
    close() {
      clearTimeout(timer);
      clearInterval(poll);
      watcher?.close();
    },
  };
}

function stamp(path: string): string {
  try {
    const stat = statSync(path);
    return `${realpathSync(path)}:${stat.mtimeMs}:${stat.size}`;
  } catch {
    return '';
  }
}
