// Finds free TCP ports on the loopback interface (bind port 0, read it back, release it).
import net from 'node:net';

const handedOut = new Set<number>();

export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.unref();
      srv.on('error', reject);
      srv.listen(0, host, () => {
        const addr = srv.address();
        const p = typeof addr === 'object' && addr ? addr.port : 0;
        srv.close(() => resolve(p));
      });
    });
    // Avoid giving the same port twice in one process before its owner binds it.
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('could not find a free port');
}

/**
 * Runs `start(port)`; when no port is given, on a free one, trying up to `attempts` of them: between
 * freePort() releasing a port and the server binding it another process can take it (EADDRINUSE).
 */
export async function startOnFreePort<T>(
  host: string,
  port: number | undefined,
  start: (port: number) => Promise<T>,
  attempts = 3,
): Promise<T> {
  if (port !== undefined) return start(port);
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      return await start(await freePort(host));
    } catch (e) {
      last = e;
    }
  }
  throw last;
}
