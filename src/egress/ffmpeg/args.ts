/**
 * ffmpeg argument builders: pure functions, no I/O. Each returns the arguments after the binary name;
 * runFfmpeg adds the global flags (banner, stdin, progress). Outputs are always overwritten (-y).
 */
import { join } from 'node:path';
import { LecternError } from '../../errors.js';

/** H.264/AAC settings shared by the MP4 and HLS outputs (browser- and hls.js-friendly). */
const H264 = ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-pix_fmt', 'yuv420p'];
const AAC = ['-c:a', 'aac', '-b:a', '128k', '-ac', '2'];

/** Finalize a recording: rewrite the container (duration, cues so it is seekable) without re-encoding. */
export function remuxArgs(input: string, output: string): string[] {
  return ['-y', '-i', input, '-map', '0', '-c', 'copy', output];
}

/** One frame at `atSeconds` as JPEG or PNG (by the output's extension), at most `width` pixels wide. */
export function thumbnailArgs(input: string, output: string, atSeconds: number, width = 640): string[] {
  if (!(atSeconds >= 0)) throw new RangeError(`bad thumbnail time ${atSeconds}`);
  return [
    '-y',
    '-ss', formatSeconds(atSeconds),
    '-i', input,
    '-frames:v', '1',
    '-an',
    '-vf', `scale='min(${width},iw)':-2`,
    ...(/\.jpe?g$/i.test(output) ? ['-q:v', '3'] : []),
    output,
  ];
}

export interface HlsVodOptions {
  /** Target segment length in seconds (default 4). */
  segmentSeconds?: number;
  /** Playlist file name inside `dir` (default index.m3u8). */
  playlist?: string;
  /** The input already is H.264/AAC (the composite MP4): copy instead of re-encoding. */
  copy?: boolean;
}

/** An HLS VOD (playlist ending in #EXT-X-ENDLIST, MPEG-TS segments) in `dir`. */
export function hlsVodArgs(input: string, dir: string, opts: HlsVodOptions = {}): string[] {
  const seg = opts.segmentSeconds ?? 4;
  const codecs = opts.copy
    ? ['-c', 'copy']
    : [...H264, '-force_key_frames', `expr:gte(t,n_forced*${seg})`, ...AAC];
  return [
    '-y',
    '-i', input,
    '-map', '0:v:0?', '-map', '0:a:0?',
    ...codecs,
    '-f', 'hls',
    '-hls_time', String(seg),
    '-hls_playlist_type', 'vod',
    '-hls_segment_filename', join(dir, 'segment%05d.ts'),
    join(dir, opts.playlist ?? 'index.m3u8'),
  ];
}

export interface CompositeInputs {
  /** Screen share recording: shown large. */
  screen?: string;
  /** Speaker camera recording: inset bottom-right (or full frame when there is no screen). */
  camera?: string;
  /** Where the audio comes from; may be the same file as camera or screen (then it is opened once). */
  audio?: string;
}

export interface CompositeOptions {
  width?: number;
  height?: number;
  /** Width of the camera inset (default a quarter of the width). */
  insetWidth?: number;
  /** Inset margin from the bottom-right corner (default 16). */
  margin?: number;
  /** The composite's frame rate (default 30). */
  fps?: number;
}

/**
 * The lecture video: screen large with the camera inset via filter_complex overlay, whichever streams
 * exist, and the audio; H.264/AAC MP4 with the index up front (+faststart) for progressive download.
 * The frame rate is set (fps filter): a recording's WebM says none, and when its first frames are unevenly
 * spaced (a screen share) ffmpeg takes its 1 ms timebase for one, and the MP4 would be 1000 fps of copies.
 */
export function compositeArgs(inputs: CompositeInputs, output: string, opts: CompositeOptions = {}): string[] {
  if (!inputs.screen && !inputs.camera && !inputs.audio) {
    throw new LecternError('composite-no-input', 'a composite needs at least one of screen, camera, audio');
  }
  const files: string[] = [];
  const indexOf = (file: string): number => {
    const i = files.indexOf(file);
    return i >= 0 ? i : files.push(file) - 1;
  };
  const screen = inputs.screen === undefined ? undefined : indexOf(inputs.screen);
  const camera = inputs.camera === undefined ? undefined : indexOf(inputs.camera);
  const audio = inputs.audio === undefined ? undefined : indexOf(inputs.audio);

  const filter = lectureVideoFilter(
    screen === undefined ? undefined : `${screen}:v`,
    camera === undefined ? undefined : `${camera}:v`,
    opts,
    `fps=${opts.fps ?? 30}`,
  );

  return [
    '-y',
    ...files.flatMap((f) => ['-i', f]),
    ...(filter ? ['-filter_complex', filter, '-map', '[v]', ...H264] : ['-vn']),
    ...(audio !== undefined ? ['-map', `${audio}:a:0`, ...AAC] : ['-an']),
    '-movflags', '+faststart',
    output,
  ];
}

/**
 * The lecture layout shared by the composite and the live stream: the screen fitted to width x height with
 * the camera scaled to `insetWidth` in the bottom-right corner, `margin` pixels in; one of them alone fills
 * the frame. `screen` and `camera` are ffmpeg stream specifiers (`0:v`); `extra` goes after the layout
 * (e.g. `fps=30`). The output label is `[v]`; undefined when there is no video.
 */
export function lectureVideoFilter(screen: string | undefined, camera: string | undefined, opts: CompositeOptions = {}, extra?: string): string | undefined {
  const width = opts.width ?? 1280;
  const height = opts.height ?? 720;
  const inset = opts.insetWidth ?? Math.round(width / 4 / 2) * 2;
  const margin = opts.margin ?? 16;
  const tail = `${extra ? `${extra},` : ''}format=yuv420p[v]`;
  const fit = `scale=${width}:${height}:force_original_aspect_ratio=decrease,pad=${width}:${height}:(ow-iw)/2:(oh-ih)/2,setsar=1`;
  if (screen !== undefined && camera !== undefined) {
    return (
      `[${screen}]${fit}[bg];` +
      `[${camera}]scale=${inset}:-2,setsar=1[cam];` +
      `[bg][cam]overlay=W-w-${margin}:H-h-${margin}:eof_action=pass,${tail}`
    );
  }
  const only = screen ?? camera;
  return only === undefined ? undefined : `[${only}]${fit},${tail}`;
}

/** Decode everything and throw the frames away: exits 0 only if the file decodes without errors. */
export function decodeCheckArgs(input: string): string[] {
  return ['-v', 'error', '-xerror', '-i', input, '-f', 'null', '-'];
}

/** 1.5 -> "1.500" (ffmpeg accepts plain seconds; fixed precision keeps the args stable). */
function formatSeconds(s: number): string {
  return s.toFixed(3);
}
