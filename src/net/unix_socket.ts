import { lstatSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';

/**
 * A socket file left by a killed process makes bind fail; remove it, but never one a live server is using. In a
 * node:cluster worker (`liveIsOurs`), a live socket is the one the primary already bound for an earlier worker, and
 * listening again shares it; were it another process's, the primary's bind would fail and say so.
 */
export async function removeStaleSocket(path: string, options: { liveIsOurs?: boolean } = {}): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return;
  }
  // Never delete something that is not a socket: a mistyped path must not cost the user a file.
  if (!isSocket) throw new Error(`${path}: exists and is not a socket`);
  const live = await new Promise<boolean>((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
  if (live && options.liveIsOurs) return;
  if (live) throw new Error(`${path}: another process is serving on this socket`);
  unlinkSync(path);
}
