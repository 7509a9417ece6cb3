// "Is this port's listening socket held by one of these processes?"
//
// A TCP connect succeeding proves only that SOMETHING listens on the port. For
// servers with no way to ask them who they are (nginx serves the caller's
// config), this tells us the listener is ours and not a process that won the
// race for the port. Linux only: reads /proc/net/tcp{,6} and /proc/<pid>/fd.

import fs from 'node:fs';

const TCP_LISTEN = '0A';

function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      const state = fields[3];
      const inode = fields[9];
      if (local?.endsWith(`:${portHex}`) && state === TCP_LISTEN && inode !== undefined) inodes.add(inode);
    }
  }
  return inodes;
}

/** True if one of `pids` has a socket listening on TCP `port` (any address). */
export function isListeningOn(pids: readonly number[], port: number): boolean {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return false;
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const match = /^socket:\[(\d+)\]$/.exec(target);
      if (match?.[1] !== undefined && inodes.has(match[1])) return true;
    }
  }
  return false;
}
