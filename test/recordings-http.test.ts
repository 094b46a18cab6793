/**
 * /recordings/<g>/ over real HTTP (express app on 127.0.0.1): Basic auth with the `record` permission, the
 * HTML and JSON listings of a real WebM put through the real finalize chain (InProcessQueue +
 * registerEgressJobs + the bundled ffmpeg), Range downloads, delete, and path-traversal attempts sent as raw
 * request paths (fetch would normalise `..` away before it reaches the server).
 */
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFfmpeg } from '../src/egress/ffmpeg/index.js';
import { JobIndex } from '../src/egress/jobs/jobIndex.js';
import { onRecordingFinished } from '../src/egress/jobs/index.js';
import { InProcessQueue } from '../src/egress/queue/index.js';
import { startRecordingsApp, type RecordingsApp } from './helpers/recordingsApp.js';
import { testWebmArgs } from './helpers/testWebm.js';
import { waitFor } from './helpers/wait.js';

const SECRET = 'TOP-SECRET-OUTSIDE';
const REC = '2024-05-06T10:11:12.345-op';
/** A lecture of group `physics` (displayName "Physics 101"): the camera file REC and a screen share started 0.6 s later. */
const SCREEN = '2024-05-06T10:11:12.950-op';

let base = '';
let recordings = '';
let outside = '';
let app: RecordingsApp | undefined;
let port = 0;
let queue: InProcessQueue;
let index: JobIndex;

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
const OP = basic('op', 'op-pw');

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

/** A request with the path sent exactly as given. */
function raw(path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

const getJson = async (path: string, auth = OP) => {
  const res = await raw(path, { headers: { authorization: auth, accept: 'application/json' } });
  expect(res.status, res.text).toBe(200);
  return JSON.parse(res.text) as {
    group: string;
    displayName?: string;
    files: Record<string, unknown>[];
    lectures: { id: string; start: string; presenter?: string; duration?: number; replay?: string; thumbnail?: string; files: { name: string; role: string }[]; jobs: Record<string, unknown> }[];
    mayDelete?: boolean;
  };
};

const group = (users: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ 'allow-recording': true, users, ...extra });

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'lectern-rechttp-'));
  recordings = join(base, 'recordings');
  outside = join(base, 'outside');
  const groups = join(base, 'groups');
  await Promise.all([mkdir(join(recordings, 'lecture'), { recursive: true }), mkdir(outside), mkdir(join(groups, 'course'), { recursive: true })]);
  await writeFile(
    join(groups, 'lecture.json'),
    group({ op: { password: 'op-pw', permissions: 'op' }, student: { password: 'student-pw', permissions: 'present' } }),
  );
  await writeFile(join(groups, 'course', 'week1.json'), group({ teacher: { password: 't-pw', permissions: ['record'] } }));
  await writeFile(join(groups, 'linked.json'), group({ op: { password: 'op-pw', permissions: 'op' } }));
  await writeFile(
    join(groups, 'open.json'),
    group(
      { op: { password: 'op-pw', permissions: 'op' } },
      { 'members-see-recordings': true, 'wildcard-user': { password: { type: 'wildcard' }, permissions: 'observe' } },
    ),
  );
  await writeFile(join(groups, 'physics.json'), JSON.stringify({ displayName: 'Physics 101', 'allow-recording': true, users: { op: { password: 'op-pw', permissions: 'op' } } }));
  await writeFile(join(outside, 'secret.txt'), SECRET);
  await writeFile(join(outside, 'secret.webm'), SECRET);

  // A real recording, then the real chain: finalize -> composite (+ thumbnail) -> hls-vod.
  await runFfmpeg(testWebmArgs(join(recordings, 'lecture', `${REC}.webm`), { seconds: 3 }));
  await mkdir(join(recordings, 'course', 'week1'), { recursive: true });
  await copyFile(join(recordings, 'lecture', `${REC}.webm`), join(recordings, 'course', 'week1', 'week1.webm'));
  await mkdir(join(recordings, 'physics'));
  await copyFile(join(recordings, 'lecture', `${REC}.webm`), join(recordings, 'physics', `${REC}.webm`));
  await runFfmpeg(testWebmArgs(join(recordings, 'physics', `${SCREEN}.webm`), { seconds: 2, audio: false, pattern: 'smptebars' }));
  await mkdir(join(recordings, 'open'));
  await copyFile(join(recordings, 'lecture', `${REC}.webm`), join(recordings, 'open', `${REC}.webm`));
  // What must never be listed or served, and what must never be reached.
  await writeFile(join(recordings, 'lecture', `.${REC}.finalizing-1-2.webm`), 'temp');
  await writeFile(join(recordings, 'lecture', 'upload.part'), 'temp');
  await symlink('/etc/passwd', join(recordings, 'lecture', 'passwd-link.webm'));
  await symlink(join(outside, 'secret.txt'), join(recordings, 'lecture', 'secret-link.txt'));
  await symlink(outside, join(recordings, 'lecture', 'evil.hls'));
  await symlink(outside, join(recordings, 'linked'));

  app = await startRecordingsApp(groups, recordings);
  ({ port, queue, index } = app);

  const id = await onRecordingFinished(queue, { camera: `lecture/${REC}.webm` });
  await index.track(id);
  // The physics lecture as the recorder hands it over: one publisher's camera and screen.
  await index.track(await onRecordingFinished(queue, { camera: `physics/${REC}.webm`, screen: `physics/${SCREEN}.webm` }));
  const done = (base: string) => index.jobsOf(base)['hls-vod']?.state === 'completed' && index.jobsOf(base).thumbnail?.state === 'completed';
  await waitFor(
    () => done(`lecture/${REC}`) && done(`physics/${REC}`),
    120_000,
    'the finalize chain',
  );
}, 180_000);

afterAll(async () => {
  await app?.close();
  if (base) await rm(base, { recursive: true, force: true });
});

describe('authentication', () => {
  it('401 with WWW-Authenticate without credentials', async () => {
    const res = await raw('/recordings/lecture/');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Basic realm="\/recordings\/lecture\/"/);
    // The refusal says what is needed.
    expect(res.text).toBe('authentication required: log in as a user of this group with the record permission (or the group needs the option members-see-recordings)\n');
  });

  it('401 with a wrong password', async () => {
    const res = await raw('/recordings/lecture/', { headers: { authorization: basic('op', 'nope') } });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Basic /);
  });

  it('403 for a user without record, on the listing and on a file', async () => {
    for (const path of ['/recordings/lecture/', `/recordings/lecture/${REC}.webm`]) {
      const res = await raw(path, { headers: { authorization: basic('student', 'student-pw') } });
      expect(res.status).toBe(403);
      expect(res.text).toMatch(/student may not see the recordings of this group: that needs the record permission, or "members-see-recordings"/);
    }
  });

  it('members-see-recordings: any member lists, watches and downloads, but may not delete', async () => {
    const member = basic('anna', 'anything');
    const listing = await getJson('/recordings/open/', member);
    expect(listing.mayDelete).toBe(false);
    expect(listing.files.map((f) => f.name)).toContain(`${REC}.webm`);
    expect((await getJson('/recordings/open/')).mayDelete).toBe(true); // the op
    const html = await raw('/recordings/open/', { headers: { authorization: member } });
    expect(html.status).toBe(200);
    expect(html.text).toContain(`${REC}.webm`);
    expect(html.text).not.toContain('value="delete"');
    const part = await raw(`/recordings/open/${REC}.webm`, { headers: { authorization: member, range: 'bytes=0-3' } });
    expect(part.status).toBe(206);
    expect(part.body.toString('hex')).toBe('1a45dfa3'); // EBML
    const del = await raw('/recordings/open/', {
      method: 'POST',
      headers: { authorization: member, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ q: 'delete', filename: `${REC}.webm` }).toString(),
    });
    expect(del.status).toBe(403);
    expect(del.text).toMatch(/may watch and download these recordings, not delete them/);
    expect((await stat(join(recordings, 'open', `${REC}.webm`))).isFile()).toBe(true);
  });

  it('200 for a user with record; 404 for a group that does not exist; a subgroup name with a slash', async () => {
    expect((await raw('/recordings/lecture/', { headers: { authorization: OP } })).status).toBe(200);
    const missing = await raw('/recordings/nope/', { headers: { authorization: OP } });
    expect(missing.status).toBe(404);
    expect(missing.text).toBe('no such group\n');
    const sub = await getJson('/recordings/course/week1/', basic('teacher', 't-pw'));
    expect(sub.group).toBe('course/week1');
    expect(sub.files.map((f) => f.name)).toEqual(['week1.webm']);
    // teacher's password is for course/week1 only
    expect((await raw('/recordings/lecture/', { headers: { authorization: basic('teacher', 't-pw') } })).status).toBe(401);
  });

  it('redirects the folder without its slash', async () => {
    const res = await raw('/recordings/course/week1');
    expect(res.status).toBe(301);
    expect(res.headers.location).toBe('/recordings/course/week1/');
  });
});

describe('listing', () => {
  it('JSON: size, duration, streams, thumbnail, replay and the jobs of the finished chain', async () => {
    const listing = await getJson('/recordings/lecture/');
    expect(listing.group).toBe('lecture');
    const names = listing.files.map((f) => f.name).sort();
    expect(names).toEqual([`${REC}.jpg`, `${REC}.mp4`, `${REC}.webm`]);
    const webm = listing.files.find((f) => f.name === `${REC}.webm`)!;
    expect(webm.size).toBe((await stat(join(recordings, 'lecture', `${REC}.webm`))).size);
    expect(Date.parse(webm.mtime as string)).toBe((await stat(join(recordings, 'lecture', `${REC}.webm`))).mtime.getTime());
    expect(webm.duration).toBeGreaterThan(2.5);
    expect(webm.duration).toBeLessThan(3.5);
    expect(webm.streams).toEqual([
      { kind: 'video', codec: 'vp8', width: 320, height: 240 },
      { kind: 'audio', codec: 'opus' },
    ]);
    expect(webm.recording).toBe(REC);
    expect(webm.thumbnail).toBe(`${REC}.jpg`);
    expect(webm.replay).toBe(`${REC}.hls/index.m3u8`);
    const done = { state: 'completed', progress: 100 };
    expect(webm.jobs).toEqual({ finalize: done, composite: done, 'hls-vod': done, thumbnail: done });
    const mp4 = listing.files.find((f) => f.name === `${REC}.mp4`)!;
    expect((mp4.streams as { kind: string; codec: string }[]).map((s) => `${s.kind}:${s.codec}`)).toEqual(['video:h264', 'audio:aac']);
    expect(mp4.jobs).toEqual(webm.jobs);
  });

  it('JSON: one lecture per recording, its camera and screen files together, titled with the displayName', async () => {
    const listing = await getJson('/recordings/physics/');
    expect(listing.displayName).toBe('Physics 101');
    expect(listing.lectures).toHaveLength(1);
    const lecture = listing.lectures[0]!;
    expect(lecture).toMatchObject({ id: REC, presenter: 'op', replay: `${REC}.hls/index.m3u8`, thumbnail: `${REC}.jpg` });
    // The recorder's file name is local time; the JSON gives the instant, for the browser to show in its own zone.
    expect(lecture.start).toBe(new Date(2024, 4, 6, 10, 11, 12, 345).toISOString());
    expect(lecture.duration).toBeGreaterThan(2.5);
    expect(lecture.files.map((f) => [f.name, f.role])).toEqual([
      [`${REC}.mp4`, 'composite'],
      [`${REC}.webm`, 'camera'],
      [`${SCREEN}.webm`, 'screen'],
      [`${REC}.jpg`, 'thumbnail'],
    ]);
    const done = { state: 'completed', progress: 100 };
    expect(lecture.jobs).toEqual({ finalize: done, composite: done, 'hls-vod': done, thumbnail: done });
    // The per-file shape stays: the screen file names the lecture it belongs to.
    expect(listing.files.find((f) => f.name === `${SCREEN}.webm`)?.recording).toBe(REC);
    // The default group (no displayName) is titled with its name.
    expect((await getJson('/recordings/lecture/')).displayName).toBe('lecture');
  });

  it('JSON: the lecture stays one entry when the job index no longer knows it (a restarted server)', async () => {
    const fresh = await startRecordingsApp(join(base, 'groups'), recordings);
    try {
      const res = await fetch(`${fresh.url}/recordings/physics/`, { headers: { authorization: OP, accept: 'application/json' } });
      const listing = (await res.json()) as Awaited<ReturnType<typeof getJson>>;
      expect(listing.lectures.map((l) => l.id)).toEqual([REC]);
      expect(listing.lectures[0]!.files.map((f) => f.role)).toEqual(['composite', 'camera', 'screen', 'thumbnail']);
    } finally {
      await fresh.close();
    }
  });

  it('HTML: links to the files, delete forms, no hidden or temp files, no links', async () => {
    const res = await raw('/recordings/lecture/', { headers: { authorization: OP, accept: 'text/html,*/*;q=0.8' } });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toContain(`<a href="${encodeURIComponent(`${REC}.webm`)}">${REC}.webm</a>`);
    expect(res.text).toContain(`<a href="${encodeURIComponent(`${REC}.mp4`)}">`);
    expect(res.text).toContain('name="q" value="delete"');
    for (const hidden of ['finalizing', 'upload.part', 'passwd-link', 'secret-link', 'evil.hls']) expect(res.text).not.toContain(hidden);
  });
});

describe('downloads', () => {
  const file = `/recordings/lecture/${REC}.webm`;

  it.each([
    [`${REC}.webm`, 'video/webm'],
    [`${REC}.mp4`, 'video/mp4'],
    [`${REC}.jpg`, 'image/jpeg'],
    [`${REC}.hls/index.m3u8`, 'application/vnd.apple.mpegurl'],
  ])('%s is served as %s', async (name, type) => {
    const res = await raw(`/recordings/lecture/${encodeURI(name)}`, { headers: { authorization: OP } });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(new RegExp(`^${type.replace(/[./]/g, '\\$&')}`));
    expect(res.body.equals(await readFile(join(recordings, 'lecture', name)))).toBe(true);
  });

  it('downloads are named after the group and the lecture time, with the stream they hold', async () => {
    const nameOf = (header: string | undefined) => {
      expect(header).toMatch(/^attachment; /);
      const m = /filename\*=UTF-8''([^;]+)/.exec(header ?? '');
      return m ? decodeURIComponent(m[1]!) : /filename="([^"]*)"/.exec(header ?? '')?.[1];
    };
    const get = (name: string) => raw(`/recordings/physics/${name.split('/').map(encodeURIComponent).join('/')}`, { headers: { authorization: OP, range: 'bytes=0-0' } });
    expect(nameOf((await get(`${REC}.mp4`)).headers['content-disposition'])).toBe('Physics 101 – 2024-05-06 10-11.mp4');
    expect(nameOf((await get(`${REC}.webm`)).headers['content-disposition'])).toBe('Physics 101 – 2024-05-06 10-11 (camera).webm');
    const screen = await get(`${SCREEN}.webm`);
    expect(screen.status).toBe(206);
    expect(screen.headers['content-type']).toMatch(/^video\/webm/);
    expect(nameOf(screen.headers['content-disposition'])).toBe('Physics 101 – 2024-05-06 10-11 (screen).webm');
    // The ASCII fallback holds no quote, slash or control character.
    expect(/filename="([^"]*)"/.exec(screen.headers['content-disposition'] ?? '')?.[1]).toMatch(/^[A-Za-z0-9 ._()?-]+$/);
    // The replay and the thumbnail are shown in the page, not downloaded.
    for (const shown of [`${REC}.jpg`, `${REC}.hls/index.m3u8`]) {
      const res = await get(shown);
      expect(res.status).toBe(206);
      expect(res.headers['content-disposition']).toBeUndefined();
    }
  });

  it('the replay playlist names segments that are served as video/mp2t', async () => {
    const playlist = await raw(`/recordings/lecture/${REC}.hls/index.m3u8`, { headers: { authorization: OP } });
    const segment = playlist.text.split('\n').find((l) => l.endsWith('.ts'))!;
    expect(segment).toBeTruthy();
    const res = await raw(`/recordings/lecture/${REC}.hls/${segment}`, { headers: { authorization: OP } });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('video/mp2t');
    expect(res.body[0]).toBe(0x47); // MPEG-TS sync byte
  });

  it('an .mkv is served as video/x-matroska', async () => {
    await copyFile(join(recordings, 'lecture', `${REC}.webm`), join(recordings, 'lecture', 'h264-camera.mkv'));
    const res = await raw('/recordings/lecture/h264-camera.mkv', { method: 'HEAD', headers: { authorization: OP } });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('video/x-matroska');
    await rm(join(recordings, 'lecture', 'h264-camera.mkv'));
  });

  it('Range: the first bytes (206)', async () => {
    const whole = await readFile(join(recordings, 'lecture', `${REC}.webm`));
    const res = await raw(file, { headers: { authorization: OP, range: 'bytes=0-15' } });
    expect(res.status).toBe(206);
    expect(res.headers['content-range']).toBe(`bytes 0-15/${whole.length}`);
    expect(res.headers['accept-ranges']).toBe('bytes');
    expect(res.body.equals(whole.subarray(0, 16))).toBe(true);
    expect(res.body.subarray(0, 4).toString('hex')).toBe('1a45dfa3'); // EBML magic
  });

  it('Range: a suffix (206)', async () => {
    const whole = await readFile(join(recordings, 'lecture', `${REC}.webm`));
    const res = await raw(file, { headers: { authorization: OP, range: 'bytes=-100' } });
    expect(res.status).toBe(206);
    expect(res.headers['content-range']).toBe(`bytes ${whole.length - 100}-${whole.length - 1}/${whole.length}`);
    expect(res.body.equals(whole.subarray(whole.length - 100))).toBe(true);
  });

  it('Range: past the end (416)', async () => {
    const size = (await stat(join(recordings, 'lecture', `${REC}.webm`))).size;
    const res = await raw(file, { headers: { authorization: OP, range: `bytes=${size}-` } });
    expect(res.status).toBe(416);
    expect(res.headers['content-range']).toBe(`bytes */${size}`);
  });

  it('404 for a file that is not there', async () => {
    const res = await raw('/recordings/lecture/nothing.webm', { headers: { authorization: OP } });
    expect(res.status).toBe(404);
    expect(res.text).toBe('no such file\n');
  });
});

describe('path traversal', () => {
  const attempts: [string, string][] = [
    ['/recordings/lecture/../outside/secret.txt', 'dot-dot'],
    ['/recordings/lecture/../../outside/secret.txt', 'dot-dot twice'],
    ['/recordings/lecture/%2e%2e/%2e%2e/outside/secret.txt', 'encoded dots'],
    ['/recordings/lecture/%2E%2E%2F%2E%2E%2Foutside%2Fsecret.txt', 'encoded dots and slashes'],
    ['/recordings/lecture/..%2f..%2foutside%2fsecret.txt', 'encoded slashes'],
    ['/recordings/lecture/..%5c..%5coutside%5csecret.txt', 'encoded backslashes'],
    ['/recordings/lecture/..\\..\\outside\\secret.txt', 'backslashes'],
    [`/recordings/lecture/${REC}.webm%00.jpg`, 'NUL'],
    ['/recordings//etc/passwd', 'absolute path as the group'],
    ['/recordings/lecture//etc/passwd', 'absolute path as the file'],
    ['/recordings/%2e%2e/outside/secret.txt', 'dot-dot as the group'],
    ['/recordings/lecture/..%252f..%252foutside%252fsecret.txt', 'double-encoded slashes'],
    ['/recordings/lecture/%c0%ae%c0%ae/outside/secret.txt', 'overlong UTF-8 dots'],
    ['/recordings/lecture/passwd-link.webm', 'a symlink to /etc/passwd in the folder'],
    ['/recordings/lecture/secret-link.txt', 'a symlink to a file outside'],
    ['/recordings/lecture/evil.hls/secret.txt', 'through a symlinked .hls folder'],
    ['/recordings/linked/secret.txt', 'a symlinked group folder'],
    ['/recordings/linked/', 'the listing of a symlinked group folder'],
    ['/recordings/lecture/.%2e/outside/secret.txt', 'mixed dot and encoded dot'],
    ['/recordings/lecture/./../outside/secret.txt', 'dot then dot-dot'],
  ];

  it.each(attempts)('%s (%s) is refused', async (path) => {
    const res = await raw(path, { headers: { authorization: OP } });
    expect([400, 403, 404]).toContain(res.status);
    expect(res.text).not.toContain(SECRET);
    expect(res.text).not.toMatch(/root:/);
  });

  it('a delete naming a path outside, or a link, removes nothing', async () => {
    for (const filename of ['../../outside/secret.txt', '/etc/passwd', 'passwd-link.webm', 'evil.hls', '..', '.', '']) {
      const res = await raw('/recordings/lecture/', {
        method: 'POST',
        headers: { authorization: OP, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ q: 'delete', filename }).toString(),
      });
      expect([400, 403, 404], filename).toContain(res.status);
    }
    expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe(SECRET);
    expect((await stat('/etc/passwd')).isFile()).toBe(true);
  });
});

describe('delete', () => {
  const post = (path: string, body: Record<string, string>, headers: Record<string, string> = {}) =>
    raw(path, {
      method: 'POST',
      headers: { authorization: OP, 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(body).toString(),
    });

  it('needs record', async () => {
    await writeFile(join(recordings, 'lecture', 'keep.webm'), 'x');
    const res = await post('/recordings/lecture/', { q: 'delete', filename: 'keep.webm' }, { authorization: basic('student', 'student-pw') });
    expect(res.status).toBe(403);
    expect((await stat(join(recordings, 'lecture', 'keep.webm'))).isFile()).toBe(true);
  });

  it('HTML form: 303 back to the listing; JSON: 204', async () => {
    await writeFile(join(recordings, 'lecture', 'a.webm'), 'a');
    await writeFile(join(recordings, 'lecture', 'b.webm'), 'b');
    const html = await post('/recordings/lecture/', { q: 'delete', filename: 'a.webm' });
    expect(html.status).toBe(303);
    expect(html.headers.location).toBe('/recordings/lecture/');
    const json = await post('/recordings/lecture/', { q: 'delete', filename: 'b.webm' }, { accept: 'application/json' });
    expect(json.status).toBe(204);
    const names = (await getJson('/recordings/lecture/')).files.map((f) => f.name);
    expect(names).not.toContain('a.webm');
    expect(names).not.toContain('b.webm');
    expect(names).toContain('keep.webm');
  });

  it('refuses a foreign Origin, an unknown q and a missing file', async () => {
    expect((await post('/recordings/lecture/', { q: 'delete', filename: 'keep.webm' }, { origin: 'http://evil.example' })).status).toBe(403);
    expect((await post('/recordings/lecture/', { q: 'rename', filename: 'keep.webm' })).status).toBe(400);
    expect((await post('/recordings/lecture/', { q: 'delete', filename: 'gone.webm' })).status).toBe(404);
    expect((await stat(join(recordings, 'lecture', 'keep.webm'))).isFile()).toBe(true);
  });

  it('an oversized or non-form body is refused with a clear 4xx', async () => {
    const big = await post('/recordings/lecture/', { q: 'delete', filename: 'x'.repeat(100_000) });
    expect(big.status).toBe(413);
    const json = await raw('/recordings/lecture/', {
      method: 'POST',
      headers: { authorization: OP, 'content-type': 'application/json' },
      body: JSON.stringify({ q: 'delete', filename: 'keep.webm' }),
    });
    expect(json.status).toBe(415);
    expect((await stat(join(recordings, 'lecture', 'keep.webm'))).isFile()).toBe(true);
  });

  it('409 while a job still works on the recording; the file stays', async () => {
    await writeFile(join(recordings, 'lecture', 'busy.webm'), 'x');
    // Its input is missing: the first try fails and the retry waits (delayed) far longer than this test.
    const id = await queue.add('thumbnail', { input: 'lecture/missing.webm', output: 'lecture/busy.jpg' }, { attempts: 2, backoffMs: 600_000 });
    await index.track(id);
    await waitFor(() => index.jobsOf('lecture/busy').thumbnail !== undefined, 10_000, 'the busy job');
    const res = await post('/recordings/lecture/', { q: 'delete', filename: 'busy.webm' }, { accept: 'application/json' });
    expect(res.status).toBe(409);
    expect(res.text).toMatch(/thumbnail job is still working/);
    expect((await stat(join(recordings, 'lecture', 'busy.webm'))).isFile()).toBe(true);
    const listed = (await getJson('/recordings/lecture/')).files.find((f) => f.name === 'busy.webm')!;
    expect(['waiting', 'active', 'delayed']).toContain((listed.jobs as Record<string, { state: string }>).thumbnail?.state);
  });

  it('deleting the composite MP4 takes its HLS replay along, and leaves the WebM', async () => {
    const res = await post('/recordings/lecture/', { q: 'delete', filename: `${REC}.mp4` }, { accept: 'application/json' });
    expect(res.status).toBe(204);
    await expect(stat(join(recordings, 'lecture', `${REC}.mp4`))).rejects.toThrow(/ENOENT/);
    await expect(stat(join(recordings, 'lecture', `${REC}.hls`))).rejects.toThrow(/ENOENT/);
    const webm = (await getJson('/recordings/lecture/')).files.find((f) => f.name === `${REC}.webm`)!;
    expect(webm.replay).toBeUndefined();
    expect(webm.thumbnail).toBe(`${REC}.jpg`);
  });
});
