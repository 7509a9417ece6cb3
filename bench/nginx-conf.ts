import { readFileSync } from 'node:fs';
import path from 'node:path';

const NGINX_CONF = path.join(__dirname, '..', '..', 'gateway', 'nginx.conf');

/**
 * The production gateway/nginx.conf with only the listen port, the upstream port and the file
 * paths changed, exactly as test/e2e/nginx.test.ts adapts it (the access log goes to a file in
 * nginx's temp dir instead of stdout).
 */
export function benchNginxConf(dir: string, listenPort: number, upstreamPort: number): string {
  const original = readFileSync(NGINX_CONF, 'utf8');
  const replace = (text: string, from: string | RegExp, to: string): string => {
    const out = text.replace(from, to);
    if (out === text)
      throw new Error(`gateway/nginx.conf no longer contains ${String(from)}: update bench/nginx-conf.ts`);
    return out;
  };
  let conf = replace(original, 'listen 8081;', `listen 127.0.0.1:${listenPort};`);
  conf = replace(conf, 'server 127.0.0.1:8080;', `server 127.0.0.1:${upstreamPort};`);
  conf = replace(conf, /\/tmp\//g, `${dir}/`);
  return replace(conf, 'access_log /dev/stdout notify;', `access_log ${dir}/access.log notify;`);
}
