import { spawn } from 'node:child_process';
import { FfmpegError } from './FfmpegError.js';
import { parseDuration, parseStreams, type StreamInfo } from './parse.js';
import { defaultFfmpegPath } from './runFfmpeg.js';

export interface MediaInfo {
  durationSeconds?: number;
  streams: StreamInfo[];
}

/**
 * What a file holds, without ffprobe (the bundle has only ffmpeg): `ffmpeg -i file` prints the input's
 * Duration and Stream lines and exits 1 for want of an output. No streams means ffmpeg could not read it.
 */
export function probeMedia(input: string, opts: { ffmpegPath?: string; signal?: AbortSignal } = {}): Promise<MediaInfo> {
  return new Promise((resolve, reject) => {
    let path: string;
    try {
      path = opts.ffmpegPath ?? defaultFfmpegPath();
    } catch (err) {
      return reject(err);
    }
    const child = spawn(path, ['-hide_banner', '-nostdin', '-i', input], {
      stdio: ['ignore', 'ignore', 'pipe'],
      signal: opts.signal,
    });
    let text = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c: string) => {
      if (text.length < 1_000_000) text += c;
    });
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (err.name === 'AbortError') reject(new FfmpegError('aborted', 'probe aborted'));
      else if (err.code === 'ENOENT' || err.code === 'EACCES')
        reject(new FfmpegError('ffmpeg-missing', `ffmpeg not found or not executable at ${path}`, [], null, { cause: err }));
      else reject(new FfmpegError('ffmpeg-failed', `ffmpeg could not run: ${err.message}`, [], null, { cause: err }));
    });
    child.once('close', (code) => {
      const streams = parseStreams(text);
      if (streams.length === 0) {
        const lines = text.split('\n').map((l) => l.trimEnd()).filter(Boolean).slice(-20);
        return reject(new FfmpegError('ffmpeg-failed', `ffmpeg could not read ${input}: ${lines.at(-1) ?? ''}`, lines, code));
      }
      const durationSeconds = parseDuration(text);
      resolve(durationSeconds === undefined ? { streams } : { durationSeconds, streams });
    });
  });
}
