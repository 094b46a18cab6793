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
  const span = async (select: string, filter: string) => {
    const text = await showinfo(file, select, filter);
    const times = [...text.matchAll(/pts_time:\s*(-?\d+(?:\.\d+)?)/g)].map((m) => Number(m[1]));
    return times.length > 0 ? { start: Math.min(...times), end: Math.max(...times) } : undefined;
  };
  const [video, audio] = await Promise.all([span('0:v:0', 'showinfo'), span('0:a:0', 'ashowinfo')]);
  return { video, audio };
}

export interface StreamPackets {
  /** The first packet's time on the file's timeline (seconds), as the demuxer reads it. */
  first: number;
  /** The typical time between consecutive packets (median, seconds): a video frame's duration. */
  spacing: number;
  packets: number;
}

/**
 * The packet times of a file's first video and audio streams as written (ffmpeg's framecrc of a stream copy
 * with -copyts: the container's timestamps, not shifted to start at zero, nothing decoded).
 */
export function packetTimes(file: string): Promise<Record<'video' | 'audio', StreamPackets | undefined>> {
  return new Promise((resolve, reject) => {
    const args = ['-hide_banner', '-nostdin', '-v', 'error', '-i', file, '-map', '0:v:0?', '-map', '0:a:0?', '-c', 'copy', '-copyts', '-f', 'framecrc', '-'];
    const child = spawn(ffmpegPath(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    let errors = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (text += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (errors += c));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0) return reject(new Error(`ffmpeg framecrc of ${file} exited with ${code}: ${errors.trim()}`));
      const timebase = new Map<number, number>();
      const kind = new Map<number, string>();
      const times = new Map<number, number[]>();
      for (const line of text.split('\n')) {
        let m = /^#tb (\d+): (\d+)\/(\d+)/.exec(line);
        if (m) timebase.set(Number(m[1]), Number(m[2]) / Number(m[3]));
        m = /^#media_type (\d+): (\w+)/.exec(line);
        if (m) kind.set(Number(m[1]), m[2]!);
        m = /^(\d+),\s*(-?\d+),\s*(-?\d+),/.exec(line);
        if (m) {
          const i = Number(m[1]);
          if (!times.has(i)) times.set(i, []);
          times.get(i)!.push(Number(m[3]) * timebase.get(i)!);
        }
      }
      const of = (type: string): StreamPackets | undefined => {
        const i = [...kind].find(([, k]) => k === type)?.[0];
        const t = i === undefined ? undefined : times.get(i);
        if (!t || t.length === 0) return undefined;
        const deltas = t.slice(1).map((v, j) => v - t[j]!).sort((a, b) => a - b);
        return { first: Math.min(...t), spacing: deltas[Math.floor(deltas.length / 2)] ?? 0, packets: t.length };
      };
      resolve({ video: of('video'), audio: of('audio') });
    });
  });
}

/** The picture sizes of a file's first video stream as decoded, in order, with how many frames each run has. */
export async function frameSizes(file: string): Promise<{ size: string; frames: number }[]> {
  const runs: { size: string; frames: number }[] = [];
  for (const m of (await showinfo(file, '0:v:0', 'showinfo')).matchAll(/pts_time:.*? s:(\d+x\d+)/g)) {
    const last = runs.at(-1);
    if (last && last.size === m[1]) last.frames++;
    else runs.push({ size: m[1]!, frames: 1 });
  }
  return runs;
}

/** What ffmpeg's showinfo / ashowinfo filter (`filter`) prints, one line per frame, while decoding stream `select`. */
function showinfo(file: string, select: string, filter: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const args = ['-hide_banner', '-nostdin', '-v', 'info', '-i', file, '-map', select, filter.startsWith('a') ? '-af' : '-vf', filter, '-f', 'null', '-'];
    const child = spawn(ffmpegPath(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let text = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c: string) => (text += c));
    child.once('error', reject);
    child.once('close', () => resolve(text));
  });
}
