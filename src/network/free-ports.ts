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

/** A free port of the host for `m`, and the socket holding it until `release`. */
async function pick(m: PortMapping): Promise<{ port: number; release: () => void }> {
  const host = m.hostIp || undefined;
  if (m.protocol === 'tcp') {
    const server: Server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: 0, ...(host ? { host } : {}), exclusive: true }, resolve);
    });
    const address = server.address();
    return { port: typeof address === 'object' && address ? address.port : 0, release: () => server.close() };
  }
  const socket: Socket = createSocket(host?.includes(':') || !host ? 'udp6' : 'udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ port: 0, ...(host ? { address: host } : {}), exclusive: true }, resolve);
  });
  return { port: socket.address().port, release: () => socket.close() };
}

/** `ports` with every host port 0 replaced by a free one. */
export async function assignHostPorts(ports: readonly PortMapping[]): Promise<PortMapping[]> {
  const held: (() => void)[] = [];
  try {
    const out: PortMapping[] = [];
    for (const m of ports) {
      if (m.hostPort) { out.push(m); continue; }
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
