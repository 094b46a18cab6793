/**
 * What an administrator sees, with the server run as `npm start` runs it (src/main.ts in its own process): an
 * invalid group file is reported on standard error in plain words (the file, every problem) at start and
 * when it is edited, its group page says the file has an error rather than that the group does not exist,
 * and a port already in use is one line on standard error, with no stack trace.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServerProcess, type ServerProcess } from './helpers/serverProcess.js';
import { LECTURE_GROUP } from './helpers/testServer.js';
import { waitFor } from './helpers/wait.js';

describe('the server process reports what an administrator must fix', () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServerProcess({
      groups: {
        physics: LECTURE_GROUP,
        broken: '{ "users": { "teacher": { "password": "pw", "permissions": "op" } }, ',
        typo: { 'allow-recordnig': true, 'max-clients': 'many', users: {} },
      },
    });
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
  });

  it('names each invalid group file and every one of its problems on stderr at start', () => {
    const err = server.stderr();
    expect(err).toContain(`group file ${path.join(server.groupsDir, 'broken.json')} has an error (the group is not available):`);
    expect(err).toMatch(/^ {2}\(whole file\): invalid JSON: /m);
    expect(err).toContain(`group file ${path.join(server.groupsDir, 'typo.json')} has 2 errors (the group is not available):`);
    expect(err).toMatch(/^ {2}allow-recordnig: unknown key$/m);
    expect(err).toMatch(/^ {2}max-clients: .+$/m);
    expect(err).not.toContain('physics.json');
    expect(err).not.toMatch(/^\s+at /m); // no stack trace
  });

  it("a broken group's page says its file has an error; a missing group's says it does not exist", async () => {
    const broken = await fetch(`${server.url}/group/broken/`);
    expect(broken.status).toBe(503);
    expect(await broken.text()).toMatch(/this group's file has an error/);
    const missing = await fetch(`${server.url}/group/nosuch/`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toMatch(/group does not exist/);
    expect((await fetch(`${server.url}/group/physics/`)).status).toBe(200);
  });

  it('reports an edit that breaks a valid file, and keeps the group on its last valid version', async () => {
    const file = path.join(server.groupsDir, 'physics.json');
    fs.writeFileSync(file, JSON.stringify({ ...LECTURE_GROUP, 'wildcard-user': { permissions: 'observe', pasword: 'x' } }));
    const line = `group file ${file} has an error (keeping its last valid version):`;
    await waitFor(() => server.stderr().includes(line), 20_000, 'the report of the edited file');
    expect(server.stderr()).toMatch(/^ {2}wildcard-user\.pasword: unknown key$/m);
    expect((await fetch(`${server.url}/group/physics/`)).status).toBe(200);
  });

  it('a port already in use is one line on stderr and exit code 1', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-port-'));
    const folders = ['--data', `${dir}/data`, '--groups', `${dir}/groups`, '--recordings', `${dir}/recordings`];
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--insecure', '--http', `127.0.0.1:${server.port}`, ...folders], {
      cwd: path.join(import.meta.dirname, '..'),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    fs.rmSync(dir, { recursive: true, force: true });
    expect(code).toBe(1);
    expect(stderr).toBe(`lectern: cannot listen: 127.0.0.1:${server.port} is already in use (another server is listening there; choose another with --http)\n`);
  }, 60_000);
});
