/**
 * Host ports left to us (`-p 80`, `-p 127.0.0.1::80`, `-P`): chosen when the sandbox is
 * created and kept in its record, so that `start` and `restart` bring the same ports
 * back. The kernel picks each (a bind to port 0 on the mapping's address and protocol);
 * all of one sandbox's are held until the last is picked, so they differ. Loaded only by
 * a run that publishes ports.
 */
import { createServer, type Server } from 'node:net';
import { createSocket, type Socket } from 'node:dgram';
import type { PortMapping } from '../types.js';
import { SandboxError } from '../errors.js';

/**
 * Ports this process handed out lately, by protocol, address and port. A port is free
 * again once its socket here is closed, long before the monitor binds it for the
 * sandbox: a library process starting many sandboxes at once (a test suite) could be
 * given the same port twice. Not again within RECENT_MS, then (another process can
 * still race us: the monitor then refuses the taken port, as Podman does).
 */
const recentlyGiven = new Map<string, number>();
const RECENT_MS = 60_000;

/** pickFromKernel, but never a port this process gave out in the last minute (see recentlyGiven). */
async function pick(m: PortMapping, port = 0): Promise<{ port: number; release: () => void }> {
  if (port !== 0) return pickFromKernel(m, port);
  const now = Date.now();
  for (const [k, t] of recentlyGiven) if (now - t > RECENT_MS) recentlyGiven.delete(k);
  const kept: (() => void)[] = []; // held while we ask again, so that the kernel gives another
  try {
    for (let attempt = 0; ; attempt++) {
      const got = await pickFromKernel(m, 0);
      const key = `${m.protocol}/${m.hostIp}/${got.port}`;
      if (!recentlyGiven.has(key) || attempt >= 32) {
        recentlyGiven.set(key, now);
        return got;
      }
      kept.push(got.release);
    }
  } finally {
    for (const release of kept) release();
  }
}

/** A free port of the host for `m` (`port` 0: any), and the socket holding it until `release`. */
async function pickFromKernel(m: PortMapping, port = 0): Promise<{ port: number; release: () => void }> {
  const host = m.hostIp || undefined;
  if (m.protocol === 'tcp') {
    const server: Server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, ...(host ? { host } : {}), exclusive: true }, resolve);
    });
    const address = server.address();
    return { port: typeof address === 'object' && address ? address.port : 0, release: () => server.close() };
  }
  const socket: Socket = createSocket(host?.includes(':') || !host ? 'udp6' : 'udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ port, ...(host ? { address: host } : {}), exclusive: true }, resolve);
  });
  return { port: socket.address().port, release: () => socket.close() };
}

/**
 * A block of `n` consecutive free ports for the mappings of one range (`-p 80-83`), as
 * Podman gives them (so ps shows one range): the kernel's pick and the ports after it,
 * tried a few times; undefined when no block turned up.
 */
async function pickBlock(m: PortMapping, n: number): Promise<{ port: number; release: () => void }[] | undefined> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const block = [await pick(m)];
    try {
      for (let i = 1; i < n; i++) block.push(await pick(m, block[0]!.port + i));
      return block;
    } catch {
      for (const b of block) b.release();
    }
  }
  return undefined;
}

/** How many mappings from `i` on make one range left to us: same address and protocol, container ports one after another. */
function rangeAt(ports: readonly PortMapping[], i: number): number {
  let n = 1;
  for (const first = ports[i]!; i + n < ports.length; n++) {
    const m = ports[i + n]!;
    if (m.hostPort || m.hostIp !== first.hostIp || m.protocol !== first.protocol || m.containerPort !== first.containerPort + n) break;
  }
  return n;
}

/** `ports` with every host port 0 replaced by a free one (a range by a block of them, where one is free). */
export async function assignHostPorts(ports: readonly PortMapping[]): Promise<PortMapping[]> {
  const held: (() => void)[] = [];
  try {
    const out: PortMapping[] = [];
    for (let i = 0; i < ports.length; i++) {
      const m = ports[i]!;
      if (m.hostPort) { out.push(m); continue; }
      const n = rangeAt(ports, i);
      const block = n > 1 && m.hostPort === 0 ? await pickBlock(m, n).catch(() => undefined) : undefined;
      if (block) {
        for (const [k, b] of block.entries()) {
          held.push(b.release);
          out.push({ ...ports[i + k]!, hostPort: b.port });
        }
        i += n - 1;
        continue;
      }
      let picked;
      try {
        picked = await pick(m);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new SandboxError(`cannot find a free host port for ${m.containerPort}/${m.protocol}${m.hostIp ? ` on ${m.hostIp}` : ''}${code ? ` (${code})` : ''}`, {
          hint: code === 'EADDRNOTAVAIL' ? 'give an address of one of the host\'s interfaces, or none for every one' : 'give a host port: -p HOSTPORT:CONTAINERPORT',
          cause: err,
        });
      }
      held.push(picked.release);
      out.push({ ...m, hostPort: picked.port });
    }
    return out;
  } finally {
    for (const release of held) release();
  }
}
