import { describe, expect, it } from 'vitest';
import { downloadName, groupLectures, parseRecorderName, type GroupableFile } from './lectures.js';

const f = (name: string, duration?: number, size = 100): GroupableFile => ({ name, size, mtime: '2026-12-03T14:10:00.000Z', ...(duration !== undefined ? { duration } : {}) });

describe('parseRecorderName', () => {
  it('reads the start (local time) and the user, with or without the -NN counter', () => {
    expect(parseRecorderName('2026-12-03T14:05:06.789-teacher')).toEqual({ start: new Date(2026, 11, 3, 14, 5, 6, 789), user: 'teacher' });
    expect(parseRecorderName('2026-12-03T14:05:06.789-jean-luc-01')?.user).toBe('jean-luc');
    expect(parseRecorderName('2026-12-03T14:05:06.789')?.user).toBe('');
    expect(parseRecorderName('holiday')).toBeUndefined();
  });
});

describe('groupLectures', () => {
  const cam = '2026-12-03T14:05:00.000-teacher';
  const screen = '2026-12-03T14:06:30.000-teacher';

  it('one lecture: camera base with its outputs, and the same presenter\'s overlapping screen file', () => {
    const lectures = groupLectures(
      [f(`${cam}.webm`, 600), f(`${screen}.webm`, 400), f(`${cam}.mp4`, 601), f(`${cam}.jpg`)],
      new Set([cam]),
    );
    expect(lectures).toHaveLength(1);
    expect(lectures[0]).toMatchObject({
      id: cam,
      start: new Date(2026, 11, 3, 14, 5).toISOString(),
      presenter: 'teacher',
      duration: 601,
      replay: `${cam}.hls/index.m3u8`,
      thumbnail: `${cam}.jpg`,
    });
    expect(lectures[0]!.files.map((x) => [x.name, x.role])).toEqual([
      [`${cam}.mp4`, 'composite'],
      [`${cam}.webm`, 'camera'],
      [`${screen}.webm`, 'screen'],
      [`${cam}.jpg`, 'thumbnail'],
    ]);
  });

  it('another presenter, or a file outside the time span, is another lecture; newest first', () => {
    const later = '2026-12-03T16:00:00.000-teacher';
    const other = '2026-12-03T14:07:00.000-guest';
    const lectures = groupLectures([f(`${cam}.webm`, 600), f(`${cam}.mp4`, 600), f(`${later}.webm`, 60), f(`${other}.webm`, 60)], new Set());
    expect(lectures.map((l) => l.id)).toEqual([later, other, cam]);
    expect(lectures[0]!.files.map((x) => x.role)).toEqual(['stream']);
  });

  it('the job index decides while it knows the recording, even before any output exists', () => {
    const lectures = groupLectures([f(`${cam}.webm`), f(`${screen}.webm`)], new Set(), (name) => (name === `${screen}.webm` || name === `${cam}.webm` ? cam : undefined));
    expect(lectures).toHaveLength(1);
    expect(lectures[0]!.files.map((x) => x.role)).toEqual(['camera', 'screen']);
  });

  it('before any job ran, the same presenter\'s overlapping files are already one lecture (roles unknown yet)', () => {
    const lectures = groupLectures([f(`${screen}.webm`, 400), f(`${cam}.webm`, 600), f('2026-12-03T15:00:00.000-teacher.webm', 5)], new Set());
    expect(lectures.map((l) => l.files.map((x) => [x.name, x.role]))).toEqual([
      [['2026-12-03T15:00:00.000-teacher.webm', 'stream']],
      [[`${cam}.webm`, 'stream'], [`${screen}.webm`, 'stream']],
    ]);
    expect(lectures[1]!.id).toBe(cam);
  });

  it('a file not named by the recorder is its own entry, dated by its mtime', () => {
    const [l] = groupLectures([f('upload.mkv', 5)], new Set());
    expect(l).toMatchObject({ id: 'upload', start: '2026-12-03T14:10:00.000Z', duration: 5 });
    expect(l!.presenter).toBeUndefined();
  });
});

describe('downloadName', () => {
  it('is the title, the local date and time and the role, in safe characters only', () => {
    const at = new Date(2026, 11, 3, 14, 5);
    expect(downloadName('Physics 101', at, 'composite', '.mp4')).toBe('Physics 101 – 2026-12-03 14-05.mp4');
    expect(downloadName('Physics 101', at, 'screen', '.webm')).toBe('Physics 101 – 2026-12-03 14-05 (screen).webm');
    expect(downloadName('../a/b\\c"d;\r\n', at, 'camera', '.webm')).toBe('_a_b_c_d_ – 2026-12-03 14-05 (camera).webm');
    expect(downloadName('Électricité', at, 'stream', '.webm')).toBe('Électricité – 2026-12-03 14-05.webm');
  });
});
