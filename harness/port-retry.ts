// Retrying a server start when its freshly picked port was taken meanwhile.
//
// freePort() releases the port before the server binds it, so under parallel
// test load another process can grab it first. The server then exits with
// "Address already in use"; we pick a new port and try again.

import { freePort } from './free-port';

/** Thrown by a launch when the server could not bind its port. */
export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
}

// redis:    "bind: Address already in use"
// postgres: "could not bind IPv4 address "127.0.0.1": Address already in use"
// mariadb:  "Can't start server: Bind on TCP/IP port. Got error: 98: Address already in use"
// nginx:    "bind() to 127.0.0.1:1234 failed (98: Address already in use)"
const PORT_IN_USE = /address already in use|EADDRINUSE/i;

export function looksLikePortInUse(output: string): boolean {
  return PORT_IN_USE.test(output);
}

const DEFAULT_PORT_ATTEMPTS = 3;

/**
 * Calls `start` with a fresh free port; if it throws PortInUseError, tries
 * again with another port, up to `attempts` times in total.
 */
export async function withPortRetry<T>(
  start: (port: number) => Promise<T>,
  attempts = DEFAULT_PORT_ATTEMPTS,
): Promise<T> {
  const failures: string[] = [];
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const port = await freePort();
    try {
      return await start(port);
    } catch (error) {
      if (!(error instanceof PortInUseError)) throw error;
      failures.push(`port ${port}: ${error.message}`);
    }
  }
  throw new Error(`could not start after ${attempts} attempts, each port was taken:\n${failures.join('\n')}`);
}
