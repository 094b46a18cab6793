import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeFile } from '../../../test/helpers/decode.js';
import { vint } from './ebml.js';
import { recordingFileName } from './recordingFile.js';
import { vp8KeyframeSize, WebmWriter } from './WebmWriter.js';

describe('EBML sizes', () => {
  it.each([
    [0, '80'],
    [126, 'fe'],
    [127, '407f'], // 0x7f alone would read as "unknown size"
    [300, '412c'],
    [16382, '7ffe'],
    [16383, '203fff'],
  ])('%i -> %s', (n, hex) => {
    expect(vint(n).toString('hex')).toBe(hex);
  });

  it('pads to a fixed width (sizes patched in place)', () => {
    expect(vint(5, 8).toString('hex')).toBe('0100000000000005');
    expect(() => vint(300, 1)).toThrow(RangeError);
  });
});

describe('recordingFileName', () => {
  const d = new Date(2026, 10, 24, 9, 5, 7, 42);
  it.each([
    ['teacher', 0, '2026-11-24T09:05:07.042-teacher.webm'],
    ['', 0, '2026-11-24T09:05:07.042.webm'],
    ['teacher', 3, '2026-11-24T09:05:07.042-teacher-03.webm'],
    ['../../etc/x', 0, '2026-11-24T09:05:07.042-_.._etc_x.webm'],
    ['.hidden', 0, '2026-11-24T09:05:07.042-hidden.webm'],
  ])('user %j, n %i -> %s', (user, n, name) => {
    expect(recordingFileName(d, user, n)).toBe(name);
  });
});

describe('vp8KeyframeSize', () => {
  it('reads the size of a keyframe and ignores an interframe', () => {
    const key = Buffer.from([0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01]);
    expect(vp8KeyframeSize(key)).toEqual({ width: 640, height: 480 });
    expect(vp8KeyframeSize(Buffer.from([0x51, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01]))).toBeUndefined();
  });
});

describe('WebmWriter', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-webm-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('never overwrites a file, and writes a cluster once it is complete', async () => {
    const file = path.join(dir, 'a.webm');
    const w = await WebmWriter.create(file, [{ kind: 'audio', codec: 'opus' }]);
    await expect(WebmWriter.create(file, [{ kind: 'audio', codec: 'opus' }])).rejects.toMatchObject({ code: 'EEXIST' });
    for (let t = 0; t < 500; t += 20) w.write(0, t, false, Buffer.from([0xfc, 0xff, 0xfe]));
    await new Promise((r) => setTimeout(r, 50));
    const headerOnly = fs.statSync(file).size;
    for (let t = 500; t < 1100; t += 20) w.write(0, t, false, Buffer.from([0xfc, 0xff, 0xfe]));
    await new Promise((r) => setTimeout(r, 50));
    expect(fs.statSync(file).size).toBeGreaterThan(headerOnly); // the first second's cluster is on disk
    expect(await w.close()).toBe(1100);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  it("keeps each track's times strictly increasing when a frame comes late: ffmpeg reads it without an error", async () => {
    const file = path.join(dir, 'late.webm');
    const w = await WebmWriter.create(file, [{ kind: 'audio', codec: 'opus' }]);
    const opus = () => Buffer.from([0xfc, 0xff, 0xfe]); // one 20 ms frame of silence
    for (const t of [0, 20, 40, 60, 50, 60, 80, 100, 100, 120, 30, 140, 160]) w.write(0, t, false, opus());
    await w.close();
    const decoded = await decodeFile(file);
    expect(decoded.errors).toEqual([]);
    expect(decoded.code).toBe(0);
  });
});
