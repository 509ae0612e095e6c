// CPU time, peak memory and the load average, read from /proc: what a server and the client cost during a run.
import { readdirSync, readFileSync } from 'node:fs';
import { CLK_TCK } from './config.mjs';

/** pid and its live descendants (via /proc/<pid>/task/<tid>/children). */
export function pidTree(rootPid) {
  const out = [];
  const stack = [rootPid];
  while (stack.length) {
    const pid = stack.pop();
    if (out.includes(pid)) continue;
    out.push(pid);
    try {
      for (const t of readdirSync(`/proc/${pid}/task`)) {
        const kids = readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim();
        if (kids) stack.push(...kids.split(/\s+/).map(Number));
      }
    } catch {
      /* gone */
    }
  }
  return out;
}

/** CPU seconds (utime+stime+cutime+cstime) summed over the given pids; null if none is readable. */
export function cpuOfPids(pids) {
  let total = 0;
  let any = false;
  for (const pid of pids) {
    try {
      const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command: state (3) is f[0]; utime 14, stime 15, cutime 16, cstime 17 are f[11..14].
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      total += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
      any = true;
    } catch {
      /* gone */
    }
  }
  return any ? total / CLK_TCK : null;
}

/** utime+stime (+ reaped children's) of pid and all its live descendants, in seconds. */
export function treeCpuSeconds(rootPid) {
  return cpuOfPids(pidTree(rootPid)) ?? 0;
}

/** Peak RSS (VmHWM) in MB of pid and its live descendants: {self, tree}. */
export function peakRssMb(rootPid) {
  const hwm = (pid) => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return m ? Number(m[1]) / 1024 : 0;
    } catch {
      return 0;
    }
  };
  return { self: hwm(rootPid), tree: pidTree(rootPid).reduce((sum, pid) => sum + hwm(pid), 0) };
}

export function loadavg() {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
}
