/**
 * docker-compose.yml and the Dockerfile, without a Docker engine: the compose file parses and names the
 * services, the shared recordings volume, the published ports and the healthchecks; `docker compose config`
 * validates it too when a compose client (the plugin or Debian's docker-compose) is installed; it needs no engine.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const repo = join(import.meta.dirname, '..');
const compose = parse(readFileSync(join(repo, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, Record<string, unknown>>;
  volumes: Record<string, unknown>;
};
const svc = (name: string) => compose.services[name] as Record<string, unknown> & {
  command?: string[] | string;
  ports?: string[];
  volumes?: string[];
  healthcheck?: { test: string[] | string };
  depends_on?: Record<string, unknown>;
};
const words = (c: string[] | string | undefined) => (Array.isArray(c) ? c.join(' ') : (c ?? ''));

describe('docker-compose.yml', () => {
  it('has lectern, redis and worker services and the shared recordings volume', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['coturn', 'lectern', 'redis', 'worker']);
    expect(compose.volumes).toHaveProperty('recordings');
    expect(svc('lectern').volumes).toContain('recordings:/recordings');
    expect(svc('worker').volumes).toContain('recordings:/recordings');
  });

  it('builds lectern from the Dockerfile, publishes 8443 and a UDP range, and uses Redis', () => {
    expect(svc('lectern').build).toBe('.');
    expect(svc('lectern').ports).toContain('8443:8443/tcp');
    expect(svc('lectern').ports!.some((p) => /^\d+-\d+:\d+-\d+\/udp$/.test(p))).toBe(true);
    const cmd = words(svc('lectern').command);
    expect(cmd).toContain('--redis redis://redis:6379');
    expect(cmd).toContain('--recordings /recordings');
    // The UDP range the server uses is the one published.
    const range = /--udp-range (\d+-\d+)/.exec(cmd)?.[1];
    expect(svc('lectern').ports).toContain(`${range}:${range}/udp`);
  });

  it('runs the worker from the same image with npm run worker on the same Redis and folder', () => {
    expect(svc('worker').image).toBe(svc('lectern').image);
    const cmd = words(svc('worker').command);
    expect(cmd).toMatch(/^npm run worker -- /);
    expect(cmd).toContain('--redis redis://redis:6379');
    expect(cmd).toContain('--recordings /recordings');
    expect(svc('worker').depends_on).toHaveProperty('redis');
  });

  it('has a healthcheck on every service: lectern /healthz, redis ping, the worker its heartbeat file', () => {
    for (const name of ['lectern', 'redis', 'worker']) expect(svc(name).healthcheck?.test, name).toBeDefined();
    expect(words(svc('lectern').healthcheck?.test)).toContain('https://127.0.0.1:8443/healthz');
    expect(words(svc('redis').healthcheck?.test)).toContain('redis-cli ping');
    expect(String(svc('redis').image)).toMatch(/^redis:/);
    // The worker writes the file it was told to (--heartbeat), and the check reads that very file's age.
    const file = /--heartbeat (\S+)/.exec(words(svc('worker').command))?.[1];
    expect(file).toBeDefined();
    expect(words(svc('worker').healthcheck?.test)).toContain(`stat -c %Y ${file}`);
  });

  it('workers reach the server on its internal plain-HTTP listener, which is not published', () => {
    const cmd = words(svc('lectern').command);
    const port = /--internal-http :(\d+)/.exec(cmd)?.[1];
    expect(port).toBeDefined();
    // The URL put in live jobs names the service on the compose network, on that port.
    expect(cmd).toContain(`--internal-url http://lectern:${port}`);
    expect(svc('lectern').expose).toContain(port);
    expect(svc('lectern').ports!.some((p) => p.includes(port!))).toBe(false);
    // Redis is not published either.
    expect(svc('redis').ports).toBeUndefined();
  });

  it('the groups folder is writable (the admin API writes group files); recordings and data are volumes', () => {
    const groups = svc('lectern').volumes!.find((v) => v.split(':')[1] === '/app/groups');
    expect(groups).toBe('./groups:/app/groups');
    expect(svc('lectern').volumes).toContain('data:/app/data');
    expect(words(svc('lectern').command)).toContain('--groups /app/groups');
  });

  it('has an optional coturn service, only under the turn profile, using the shared-secret (hmac-sha1) scheme', () => {
    expect(svc('coturn').profiles).toEqual(['turn']);
    expect(String(svc('coturn').image)).toMatch(/^coturn\/coturn:/);
    const cmd = words(svc('coturn').command);
    expect(cmd).toContain('--use-auth-secret');
    expect(cmd).toMatch(/--static-auth-secret=\$\{TURN_SECRET/);
    for (const name of ['lectern', 'redis', 'worker']) expect(svc(name).profiles).toBeUndefined();
  });

  it('the Dockerfile builds the client and starts the server', () => {
    const dockerfile = readFileSync(join(repo, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^FROM node:20/m);
    expect(dockerfile).toMatch(/^RUN npm ci /m);
    expect(dockerfile).not.toMatch(/^RUN npm install/m);
    expect(dockerfile).toContain('npm run build:client');
    expect(dockerfile).toMatch(/^EXPOSE 8443/m);
  });

  // `docker compose` (the plugin) or Debian's `docker-compose`: both validate without an engine.
  const composeCmd = [
    ['docker', 'compose'],
    ['docker-compose'],
  ].find(([bin, ...sub]) => spawnSync(bin!, [...sub, 'version'], { encoding: 'utf8' }).status === 0);
  it('docker compose config accepts the file', () => {
    if (!composeCmd) throw new Error('no compose client: install Debian\'s docker-compose (.ci/run does)');
    const [bin, ...sub] = composeCmd;
    const r = spawnSync(bin!, [...sub, '-f', join(repo, 'docker-compose.yml'), 'config', '--quiet'], {
      encoding: 'utf8',
      cwd: repo,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
