/**
 * egress/ffmpeg against the real bundled ffmpeg: generate a 3 s VP8/Opus WebM, then remux, thumbnail,
 * composite MP4 and HLS VOD it; progress, abort and failure reporting. Everything lives in a temp dir.
 */
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FfmpegError,
  compositeArgs,
  decodeCheckArgs,
  hlsVodArgs,
  probeMedia,
  remuxArgs,
  runFfmpeg,
  thumbnailArgs,
} from '../src/egress/ffmpeg/index.js';
import { decodeFile, packetTimes } from './helpers/decode.js';
import { testWebmArgs } from './helpers/testWebm.js';

let dir = '';
let camera = ''; // 3 s testsrc + sine, VP8/Opus
let screen = ''; // 3 s of another pattern, VP8 only

/** lavfi sources -> WebM. Only tests build sources like this, so the args live here. */
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lectern-ffmpeg-'));
  camera = join(dir, 'camera.webm');
  screen = join(dir, 'screen.webm');
  await Promise.all([
    runFfmpeg(testWebmArgs(camera, { pattern: 'testsrc', size: '320x240', audio: true, seconds: 3 })),
    runFfmpeg(testWebmArgs(screen, { pattern: 'smptebars', size: '640x360', audio: false, seconds: 3 })),
  ]);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('runFfmpeg with the bundled ffmpeg', () => {
  it('generated a 3 s VP8/Opus WebM', async () => {
    const info = await probeMedia(camera);
    expect(info.durationSeconds).toBeGreaterThan(2.8);
    expect(info.durationSeconds).toBeLessThan(3.3);
    expect(info.streams.map((s) => [s.type, s.codec])).toEqual([
      ['video', 'vp8'],
      ['audio', 'opus'],
    ]);
    expect(info.streams[0]).toMatchObject({ width: 320, height: 240 });
  });

  it('remuxes with -c copy, keeping both streams and the duration', async () => {
    const out = join(dir, 'remuxed.webm');
    await runFfmpeg(remuxArgs(camera, out));
    const info = await probeMedia(out);
    expect(info.streams.map((s) => s.codec)).toEqual(['vp8', 'opus']);
    expect(Math.abs(info.durationSeconds! - 3)).toBeLessThan(0.3);
    await runFfmpeg(decodeCheckArgs(out));
  });

  it.each([
    ['thumb.jpg', [0xff, 0xd8, 0xff]],
    ['thumb.png', [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]],
  ])('makes a thumbnail %s', async (name, magic) => {
    const out = join(dir, name);
    await runFfmpeg(thumbnailArgs(camera, out, 1));
    const bytes = await readFile(out);
    expect([...bytes.subarray(0, magic.length)]).toEqual(magic);
    const info = await probeMedia(out);
    expect(info.streams[0]).toMatchObject({ type: 'video', width: 320, height: 240 });
  });

  it('composites screen + camera inset + audio into an H.264/AAC MP4 that decodes, reporting progress to 100', async () => {
    const out = join(dir, 'composite.mp4');
    const progress: number[] = [];
    await runFfmpeg(compositeArgs({ screen, camera, audio: camera }, out, { width: 640, height: 360 }), {
      durationSeconds: 3,
      onProgress: (p) => progress.push(p),
    });
    const info = await probeMedia(out);
    expect(info.streams.map((s) => [s.type, s.codec])).toEqual([
      ['video', 'h264'],
      ['audio', 'aac'],
    ]);
    expect(info.streams[0]).toMatchObject({ width: 640, height: 360 });
    expect(Math.abs(info.durationSeconds! - 3)).toBeLessThan(0.3);
    await runFfmpeg(decodeCheckArgs(out));
    // +faststart: the moov box comes before mdat.
    const head = (await readFile(out)).subarray(0, 64 * 1024).toString('latin1');
    expect(head.indexOf('moov')).toBeGreaterThan(0);
    expect(head.indexOf('moov')).toBeLessThan(head.indexOf('mdat'));
    expect(progress.at(-1)).toBe(100);
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
  });

  it('composites at 30 fps a screen share whose frames are unevenly spaced, which ffmpeg reads as 1000 fps', async () => {
    // Frames at the multiples of 47 ms and 53 ms, in a WebM with its 1 ms timebase, as a recorded screen share
    // whose frames come when the screen changes.
    const uneven = join(dir, 'uneven.webm');
    await runFfmpeg([
      '-y', '-f', 'lavfi', '-i', 'smptebars=size=640x360:rate=1000:duration=3',
      '-vf', "select='not(mod(n\\,47))+not(mod(n\\,53))'", '-vsync', 'vfr',
      '-c:v', 'libvpx', '-b:v', '300k', '-deadline', 'realtime', '-cpu-used', '8', uneven,
    ]);
    const input = await packetTimes(uneven);
    expect(input.video!.packets).toBeGreaterThan(100); // 3 s of the two series
    const out = join(dir, 'uneven.mp4');
    await runFfmpeg(compositeArgs({ screen: uneven, camera, audio: camera }, out, { width: 640, height: 360 }));
    const decoded = await decodeFile(out);
    expect(decoded.errors).toEqual([]);
    // 30 fps for the 3 s (the fps filter may add one at the end), not a copy of the picture every millisecond.
    expect(decoded.videoFrames).toBeGreaterThanOrEqual(3 * 30 - 2);
    expect(decoded.videoFrames).toBeLessThanOrEqual(3 * 30 + 2);
  });

  it('composites whichever streams exist (camera only, duration from the input when not given)', async () => {
    const out = join(dir, 'camera-only.mp4');
    const progress: number[] = [];
    await runFfmpeg(compositeArgs({ camera, audio: camera }, out, { width: 320, height: 240 }), {
      onProgress: (p) => progress.push(p),
    });
    expect((await probeMedia(out)).streams.map((s) => s.codec)).toEqual(['h264', 'aac']);
    expect(progress.at(-1)).toBe(100);
  });

  it('writes an HLS VOD whose playlist ends and whose segments decode', async () => {
    const hls = join(dir, 'hls');
    await mkdir(hls);
    await runFfmpeg(hlsVodArgs(camera, hls, { segmentSeconds: 1 }));
    const playlist = await readFile(join(hls, 'index.m3u8'), 'utf8');
    expect(playlist).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    expect(playlist.trimEnd().endsWith('#EXT-X-ENDLIST')).toBe(true);
    const segments = playlist.split('\n').filter((l) => l.endsWith('.ts'));
    expect(segments.length).toBeGreaterThanOrEqual(2);
    expect((await readdir(hls)).filter((f) => f.endsWith('.ts')).sort()).toEqual([...segments].sort());
    for (const seg of segments) await runFfmpeg(decodeCheckArgs(join(hls, seg)));
    // The whole playlist plays back as one stream of about 3 s.
    const info = await probeMedia(join(hls, 'index.m3u8'));
    expect(info.streams.map((s) => s.codec)).toEqual(['h264', 'aac']);
    expect(Math.abs(info.durationSeconds! - 3)).toBeLessThan(0.5);
  });

  it('kills ffmpeg quickly on abort, with code aborted', async () => {
    const out = join(dir, 'endless.mp4');
    const ac = new AbortController();
    const progress: number[] = [];
    const run = runFfmpeg(
      ['-y', '-re', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25', '-c:v', 'libx264', '-preset', 'ultrafast', out],
      { signal: ac.signal, durationSeconds: 600, onProgress: (p) => progress.push(p) },
    );
    await new Promise((r) => setTimeout(r, 1500));
    const t0 = Date.now();
    ac.abort();
    const err = await run.then(() => undefined, (e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(err).toBeInstanceOf(FfmpegError);
    expect((err as FfmpegError).code).toBe('aborted');
    expect(progress.length).toBeGreaterThan(0); // it was running and reporting
    await expect(runFfmpeg(['-version'], { signal: ac.signal })).rejects.toMatchObject({ code: 'aborted' });
  });

  it('turns garbage input into ffmpeg-failed carrying the last stderr lines', async () => {
    const garbage = join(dir, 'garbage.webm');
    await writeFile(garbage, Buffer.alloc(4096, 0x5a));
    const err = await runFfmpeg(remuxArgs(garbage, join(dir, 'never.webm'))).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(FfmpegError);
    const fe = err as FfmpegError;
    expect(fe.code).toBe('ffmpeg-failed');
    expect(fe.exitCode).not.toBe(0);
    expect(fe.stderr.length).toBeGreaterThan(0);
    expect(fe.stderr.length).toBeLessThanOrEqual(20);
    expect(fe.stderr.join('\n')).toMatch(/Invalid data|could not find codec|EBML/i);
    expect(fe.message).toContain(fe.stderr.at(-1)!);
    await expect(probeMedia(garbage)).rejects.toMatchObject({ code: 'ffmpeg-failed' });
    await expect(stat(join(dir, 'never.webm'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('reports a missing binary as ffmpeg-missing', async () => {
    const ffmpegPath = join(dir, 'no-such-ffmpeg');
    await expect(runFfmpeg(['-version'], { ffmpegPath })).rejects.toMatchObject({ code: 'ffmpeg-missing' });
    await expect(probeMedia(camera, { ffmpegPath })).rejects.toMatchObject({ code: 'ffmpeg-missing' });
  });
});
