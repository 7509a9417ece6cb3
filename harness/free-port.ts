// Picks TCP ports for throwaway servers.
//
// The kernel hands out an unused ephemeral port when we listen on port 0. We
// close our listener straight away so the real server can bind it, which leaves
// a small window in which some other process may take the port; the server
// helpers detect that ("Address already in use") and retry with a new port.

import net from 'node:net';

const LOOPBACK = '127.0.0.1';

/** Returns a TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: LOOPBACK, port: 0, exclusive: true }, () => {
      const address = server.address();
      // listen() on a TCP host:port always yields an AddressInfo object; the
      // string form only exists for pipes and Unix sockets.
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error(`freePort: unexpected listener address ${String(address)}`));
        return;
      }
      const { port } = address;
      server.close((error) => (error ? reject(error) : resolve(port)));
    });
  });
}

/**
 * True when nothing listens on 127.0.0.1:port right now. Used after killing a
 * server, so that a restart on the same port does not race the dying process.
 */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ host: LOOPBACK, port, exclusive: true }, () => {
      server.close(() => resolve(true));
    });
  });
}
