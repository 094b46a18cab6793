import { spawn } from 'node:child_process';
import { ffmpegPath } from './mediaSource.js';

export interface Decoded {
  /** ffmpeg's exit code. */
  code: number | null;
  /** Lines ffmpeg logged at level error (empty for a clean file). */
  errors: string[];
  /** How far decoding got, in seconds of media (from ffmpeg's last progress line). */
  seconds: number;
  /** Frames of the first video stream decoded. */
  videoFrames: number;
}

/** Decodes every stream of `file` with the real ffmpeg and reports errors and how much media came out. */
export function decodeFile(file: string): Promise<Decoded> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpegPath(), ['-hide_banner', '-nostdin', '-v', 'error', '-stats', '-i', file, '-f', 'null', '-'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let text = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c: string) => (text += c));
    child.once('error', reject);
    child.once('close', (code) => {
      const lines = text.split(/[\r\n]+/).filter((l) => l.trim() !== '');
      const progress = lines.filter((l) => /^frame=|^size=/.test(l.trim()));
      const last = progress.at(-1) ?? '';
      const t = /time=(\d+):(\d+):(\d+(?:\.\d+)?)/.exec(last);
      const f = /frame=\s*(\d+)/.exec(last);
      resolve({
        code,
        errors: lines.filter((l) => !/^frame=|^size=/.test(l.trim())),
        seconds: t ? Number(t[1]) * 3600 + Number(t[2]) * 60 + Number(t[3]) : 0,
        videoFrames: f ? Number(f[1]) : 0,
      });
    });
  });
}

/**
 * Where a file's first video and audio streams start and end on its timeline (seconds): the first and last
 * frame times that ffmpeg's showinfo / ashowinfo filters print while decoding each.
 */
export async function streamSpans(file: string): Promise<Record<'video' | 'audio', { start: number; end: number } | undefined>> {
  const span = (select: string, filter: string) =>
    new Promise<{ start: number; end: number } | undefined>((resolve, reject) => {
      const args = ['-hide_banner', '-nostdin', '-v', 'info', '-i', file, '-map', select, filter.startsWith('a') ? '-af' : '-vf', filter, '-f', 'null', '-'];
      const child = spawn(ffmpegPath(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let text = '';
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (c: string) => (text += c));
      child.once('error', reject);
      child.once('close', () => {
        const times = [...text.matchAll(/pts_time:\s*(-?\d+(?:\.\d+)?)/g)].map((m) => Number(m[1]));
        resolve(times.length > 0 ? { start: Math.min(...times), end: Math.max(...times) } : undefined);
      });
    });
  const [video, audio] = await Promise.all([span('0:v:0', 'showinfo'), span('0:a:0', 'ashowinfo')]);
  return { video, audio };
}
