/**
 * Pure builders for the live transcode: the SDP that tells ffmpeg what arrives on which loopback port, and
 * ffmpeg's arguments (RTP in, H.264/AAC fMP4 HLS out, 1 s segments, keyframes on segment boundaries, a fixed
 * output size so a resolution change upstream does not change the stream).
 */

/** One incoming RTP stream as negotiated over WHEP. */
import { lectureVideoFilter } from '../ffmpeg/args.js';

export interface RtpInput {
  /** Codec name as in an rtpmap line: VP8, VP9, H264, opus. */
  codec: string;
  payloadType: number;
  clockRate: number;
  channels?: number;
  /** fmtp parameters, if any (H.264 packetization-mode). */
  fmtp?: string;
  /** Loopback UDP port ffmpeg listens on for RTP (RTCP is the next one). */
  port: number;
}

export interface LiveInputs {
  /** The lecture's main video: the screen share, else the camera. */
  video?: RtpInput;
  /** The camera while a screen is shared: drawn as the inset, as in the recordings' composite. */
  inset?: RtpInput;
  audio?: RtpInput;
}

export interface LiveOutputOptions {
  /** Folder the segments and ffmpeg's playlist go to (absolute). */
  dir: string;
  /** Names of this ffmpeg run's files: `<prefix>.m3u8`, `<prefix>-init.mp4`, `<prefix>-00001.m4s`. */
  prefix: string;
  width?: number;
  height?: number;
  fps?: number;
  /** Segment length in seconds (default 1). */
  segmentSeconds?: number;
  videoBitrate?: string;
  audioBitrate?: string;
}

export const LIVE_DEFAULTS = { width: 1280, height: 720, fps: 30, segmentSeconds: 1, videoBitrate: '2000k', audioBitrate: '96k' };

/** An SDP file describing the loopback RTP streams (ffmpeg's `sdp` demuxer). */
export function liveSdp(inputs: LiveInputs): string {
  if (inputs.inset && !inputs.video) throw new TypeError('liveSdp: an inset needs a main video');
  if (!inputs.video && !inputs.audio) throw new TypeError('liveSdp: no stream');
  const lines = ['v=0', 'o=- 0 0 IN IP4 127.0.0.1', 's=lectern live', 'c=IN IP4 127.0.0.1', 't=0 0'];
  for (const [kind, s] of [['video', inputs.video], ['video', inputs.inset], ['audio', inputs.audio]] as const) {
    if (!s) continue;
    if (!Number.isInteger(s.port) || s.port <= 0 || s.port > 65534) throw new TypeError(`liveSdp: bad port ${s.port}`);
    if (!/^[A-Za-z0-9-]+$/.test(s.codec)) throw new TypeError(`liveSdp: bad codec ${s.codec}`);
    lines.push(`m=${kind} ${s.port} RTP/AVP ${s.payloadType}`);
    lines.push(`a=rtpmap:${s.payloadType} ${s.codec}/${s.clockRate}${s.channels ? `/${s.channels}` : ''}`);
    if (s.fmtp && !/[\r\n]/.test(s.fmtp)) lines.push(`a=fmtp:${s.payloadType} ${s.fmtp}`);
    lines.push('a=recvonly');
  }
  return `${lines.join('\r\n')}\r\n`;
}

/**
 * ffmpeg arguments for one run. `sdpFile` describes the RTP input; a missing kind is replaced by a
 * generated one (black video or silence), so every run has the same two tracks and players never see the
 * track layout change. With an inset, the SDP's second video stream is overlaid on the first with the
 * composite's layout (lectureVideoFilter).
 */
export function liveHlsArgs(sdpFile: string, inputs: LiveInputs, out: LiveOutputOptions): string[] {
  const o = { ...LIVE_DEFAULTS, ...stripUndefined(out) };
  const seg = o.segmentSeconds;
  const size = `${o.width}x${o.height}`;
  const args = [
    '-loglevel', 'warning',
    // RTP input: small probe so the first segment comes quickly, a short jitter buffer.
    '-protocol_whitelist', 'file,udp,rtp',
    '-fflags', '+genpts+discardcorrupt',
    '-analyzeduration', '1500000',
    '-probesize', '2000000',
    '-max_delay', '200000',
    '-reorder_queue_size', '64',
    '-f', 'sdp',
    '-i', sdpFile,
  ];
  let videoIn = '0:v:0';
  let audioIn = '0:a:0';
  let next = 1;
  if (!inputs.video) {
    args.push('-re', '-f', 'lavfi', '-i', `color=c=black:s=${size}:r=${o.fps}`);
    videoIn = `${next++}:v:0`;
  }
  if (!inputs.audio) {
    args.push('-re', '-f', 'lavfi', '-i', 'anullsrc=channel_layout=stereo:sample_rate=48000');
    audioIn = `${next++}:a:0`;
  }
  const filter = lectureVideoFilter(videoIn, inputs.inset ? '0:v:1' : undefined, { width: o.width, height: o.height }, `fps=${o.fps}`)!;
  args.push(
    '-filter_complex', filter,
    '-map', '[v]',
    '-map', audioIn,
    '-c:v', 'libx264',
    '-preset', 'veryfast',
    '-tune', 'zerolatency',
    '-profile:v', 'main',
    '-b:v', o.videoBitrate,
    '-maxrate', o.videoBitrate,
    '-bufsize', o.videoBitrate,
    '-g', String(Math.round(o.fps * seg)),
    '-keyint_min', String(Math.round(o.fps * seg)),
    '-sc_threshold', '0',
    '-force_key_frames', `expr:gte(t,n_forced*${seg})`,
    '-af', 'aresample=async=1000',
    '-c:a', 'aac',
    '-b:a', o.audioBitrate,
    '-ar', '48000',
    '-ac', '2',
    '-max_interleave_delta', '1000000',
    '-f', 'hls',
    '-hls_time', String(seg),
    '-hls_list_size', '0',
    '-hls_playlist_type', 'event',
    '-hls_segment_type', 'fmp4',
    '-hls_fmp4_init_filename', `${o.prefix}-init.mp4`,
    '-hls_segment_filename', `${o.dir}/${o.prefix}-%05d.m4s`,
    '-hls_flags', 'program_date_time+independent_segments+temp_file',
    `${o.dir}/${o.prefix}.m3u8`,
  );
  return args;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
