// A dependency-free Redis liveness probe: sends the inline command PING over a
// raw TCP socket and expects the simple-string reply "+PONG". Keeping it free
// of ioredis means readiness checks cannot be confused by client-side retry
// or offline-queue behaviour.

import net from 'node:net';

/**
 * Resolves true if 127.0.0.1:port answers +PONG within `timeoutMs`, false on
 * any other reply, connection error or timeout. Never rejects.
 */
export function redisPing(port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    let reply = '';
    let settled = false;
    const socket = net.connect({ host: '127.0.0.1', port });
    const finish = (ok: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: string) => {
      reply += chunk;
      const end = reply.indexOf('\r\n');
      if (end !== -1) finish(reply.slice(0, end) === '+PONG');
    });
    socket.on('error', () => finish(false));
    socket.on('close', () => finish(false));
  });
}
