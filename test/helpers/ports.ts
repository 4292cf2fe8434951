// Port fixtures: an address where nothing listens, for tests of "peer is down" paths.
import net from 'node:net';

/**
 * A loopback port nobody listens on: bound by the kernel's choice (0) and closed again. Unlike a fixed
 * "dead" port (port 1 and friends), it is not privileged, not a real service's port, and not in use.
 */
export async function closedPort(host = '127.0.0.1'): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, host, () => resolve());
  });
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}
