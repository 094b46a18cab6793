/**
 * Real media for tests and benchmarks: the bundled ffmpeg encodes a test pattern (VP8) and a sine (Opus) to
 * RTP on loopback UDP; `createPublisherPeer` is a werift peer that publishes those packets like a browser.
 *
 *   const media = await startTestMedia();
 *   const pub = await createPublisherPeer({ stunPort });
 *   media.onVideo((rtp) => pub.sendVideo(rtp));
 *   media.onAudio((rtp) => pub.sendAudio(rtp));
 */
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import {
  MediaStreamTrack,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  useSdesMid,
  useSdesRTPStreamId,
  type PeerConfig,
  type RTCRtpTransceiver,
} from 'werift';
import { loopbackPeerConfig } from './loopbackStun.js';

/** FFMPEG_PATH if set, else the binary from @ffmpeg-installer/ffmpeg. */
export function ffmpegPath(): string {
  const fromEnv = process.env['FFMPEG_PATH'];
  if (fromEnv) return fromEnv;
  const require = createRequire(import.meta.url);
  return (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;
}

export interface TestMediaOptions {
  ffmpegPath?: string;
  width?: number;
  height?: number;
  fps?: number;
  /** ffmpeg bitrate syntax, e.g. '1M'. */
  videoBitrate?: string;
  /** A solid colour (ffmpeg's colour syntax, e.g. 'red') instead of the moving test pattern. */
  colour?: string;
  /** Frames between keyframes (60 = 2 s at 30 fps). */
  gop?: number;
  video?: boolean;
  audio?: boolean;
  videoSsrc?: number;
  audioSsrc?: number;
  /** First RTP sequence number of the video (e.g. near 65535 to cross the wrap early). */
  videoSeq?: number;
}

export type RtpListener = (rtp: Buffer) => void;

export interface TestMedia {
  /** Every video RTP packet (VP8, payload type 96) as ffmpeg sent it; returns an unsubscribe function. */
  onVideo(cb: RtpListener): () => void;
  /** Every audio RTP packet (Opus, payload type 111). */
  onAudio(cb: RtpListener): () => void;
  /** Resolves with the first video packet. */
  firstVideo(): Promise<void>;
  /** The last lines ffmpeg wrote to stderr. */
  stderr(): string;
  close(): Promise<void>;
}

async function bindLoopback(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      s.off('error', reject);
      resolve();
    });
  });
  return s;
}

export async function startTestMedia(opts: TestMediaOptions = {}): Promise<TestMedia> {
  const wantVideo = opts.video ?? true;
  const wantAudio = opts.audio ?? true;
  const videoListeners = new Set<RtpListener>();
  const audioListeners = new Set<RtpListener>();
  const sockets: dgram.Socket[] = [];
  const args = ['-hide_banner', '-loglevel', 'error', '-nostdin'];
  const outputs: string[] = [];
  let firstVideo!: () => void;
  const firstVideoPromise = new Promise<void>((r) => (firstVideo = r));

  let input = 0;
  if (wantVideo) {
    const w = opts.width ?? 640;
    const h = opts.height ?? 480;
    const fps = opts.fps ?? 30;
    args.push('-re', '-f', 'lavfi', '-i', opts.colour ? `color=c=${opts.colour}:size=${w}x${h}:rate=${fps}` : `testsrc=size=${w}x${h}:rate=${fps}`);
    const sock = await bindLoopback();
    sockets.push(sock);
    sock.on('message', (msg) => {
      firstVideo();
      for (const cb of videoListeners) cb(msg);
    });
    const port = (sock.address() as AddressInfo).port;
    const gop = opts.gop ?? 2 * fps;
    const bitrate = opts.videoBitrate ?? '1M';
    outputs.push(
      '-map', `${input}:v`,
      '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-threads', '1',
      // testsrc is easy to compress: constant bitrate and a low quantizer ceiling get it near 1 Mbit/s
      '-b:v', bitrate, '-minrate', bitrate, '-maxrate', bitrate, '-bufsize', bitrate, '-qmin', '0', '-qmax', '10',
      '-g', String(gop), '-keyint_min', String(gop),
      '-auto-alt-ref', '0', '-lag-in-frames', '0', '-error-resilient', '1', '-pix_fmt', 'yuv420p',
      '-payload_type', '96', '-ssrc', String(opts.videoSsrc ?? 0x11111111),
      ...(opts.videoSeq !== undefined ? ['-seq', String(opts.videoSeq)] : []),
      '-rtpflags', 'skip_rtcp', '-f', 'rtp', `rtp://127.0.0.1:${port}?pkt_size=1200`,
    );
    input++;
  }
  if (wantAudio) {
    args.push('-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000');
    const sock = await bindLoopback();
    sockets.push(sock);
    sock.on('message', (msg) => {
      for (const cb of audioListeners) cb(msg);
    });
    const port = (sock.address() as AddressInfo).port;
    outputs.push(
      '-map', `${input}:a`,
      '-c:a', 'libopus', '-b:a', '64k', '-ac', '2', '-ar', '48000', '-application', 'lowdelay', '-frame_duration', '20',
      '-payload_type', '111', '-ssrc', String(opts.audioSsrc ?? 0x22222222),
      '-rtpflags', 'skip_rtcp', '-f', 'rtp', `rtp://127.0.0.1:${port}`,
    );
    input++;
  }
  if (input === 0) throw new Error('startTestMedia: neither video nor audio');

  const proc: ChildProcess = spawn(opts.ffmpegPath ?? ffmpegPath(), [...args, ...outputs], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.once('error', (err) => {
    stderr += `\nspawn error: ${err.message}`;
  });

  let closed = false;
  return {
    onVideo(cb) {
      videoListeners.add(cb);
      return () => videoListeners.delete(cb);
    },
    onAudio(cb) {
      audioListeners.add(cb);
      return () => audioListeners.delete(cb);
    },
    firstVideo: () => firstVideoPromise,
    stderr: () => stderr,
    async close() {
      if (closed) return;
      closed = true;
      videoListeners.clear();
      audioListeners.clear();
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 2000);
        await exited;
        clearTimeout(timer);
      }
      await Promise.all(sockets.map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}

export interface PublisherOptions {
  stunPort: number;
  video?: boolean;
  audio?: boolean;
}

export interface PublisherPeer {
  readonly pc: RTCPeerConnection;
  readonly videoTransceiver: RTCRtpTransceiver | undefined;
  readonly audioTransceiver: RTCRtpTransceiver | undefined;
  /** An offer with candidates embedded (gathering complete). */
  createOffer(opts?: { iceRestart?: boolean }): Promise<string>;
  setAnswer(sdp: string): Promise<void>;
  /** Publishes one RTP packet (werift rewrites SSRC and payload type, keeps sequence numbers and timestamps). */
  sendVideo(rtp: Buffer): void;
  sendAudio(rtp: Buffer): void;
  connected(): Promise<void>;
  close(): Promise<void>;
}

export function vp8Codec(): RTCRtpCodecParameters {
  return new RTCRtpCodecParameters({
    mimeType: 'video/VP8',
    clockRate: 90000,
    payloadType: 96,
    rtcpFeedback: [{ type: 'goog-remb' }, { type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }],
  });
}

export function opusCodec(): RTCRtpCodecParameters {
  return new RTCRtpCodecParameters({
    mimeType: 'audio/opus',
    clockRate: 48000,
    channels: 2,
    payloadType: 111,
    parameters: 'minptime=10;useinbandfec=1;stereo=1',
  });
}

/** Resolves when the connection state reaches 'connected' (rejects on 'failed' or 'closed'). */
export function whenConnected(pc: RTCPeerConnection): Promise<void> {
  if (pc.connectionState === 'connected') return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const sub = pc.connectionStateChange.subscribe((s) => {
      if (s === 'connected') {
        sub.unSubscribe();
        resolve();
      } else if (s === 'failed' || s === 'closed') {
        sub.unSubscribe();
        reject(new Error(`connection ${s}`));
      }
    });
  });
}

/**
 * Two werift peers on loopback (ICE through the loopback STUN responder) with a data channel, offer and
 * answer exchanged (`a` offers; `extra` adds to each one's configuration): ICE and DTLS are under way.
 */
export async function negotiatedPeerPair(
  stunPort: number,
  label: string,
  extra: [Partial<PeerConfig>, Partial<PeerConfig>] = [{}, {}],
): Promise<[RTCPeerConnection, RTCPeerConnection]> {
  const a = new RTCPeerConnection({ ...loopbackPeerConfig(stunPort), ...extra[0] });
  const b = new RTCPeerConnection({ ...loopbackPeerConfig(stunPort), ...extra[1] });
  a.createDataChannel(label);
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription(a.localDescription!);
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription!);
  return [a, b];
}

/**
 * `negotiatedPeerPair`, connected: for tests of what a DTLS handshake goes through. Rejects after
 * `timeoutMs`; the caller closes both.
 */
export async function connectedPeerPair(stunPort: number, label: string, timeoutMs = 15_000): Promise<[RTCPeerConnection, RTCPeerConnection]> {
  const [a, b] = await negotiatedPeerPair(stunPort, label);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not connected within ${timeoutMs / 1000} s`)), timeoutMs);
  });
  try {
    await Promise.race([Promise.all([whenConnected(a), whenConnected(b)]), timeout]);
  } catch (e) {
    await Promise.allSettled([a.close(), b.close()]);
    throw e;
  } finally {
    clearTimeout(timer);
  }
  return [a, b];
}

export function whenGathered(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise<void>((resolve) => {
    const sub = pc.iceGatheringStateChange.subscribe((s) => {
      if (s === 'complete') {
        sub.unSubscribe();
        resolve();
      }
    });
  });
}

/**
 * werift quirk: after an ICE restart it never re-runs ICE while DTLS is connected (see
 * src/forward/peerConfig.ts); test peers need the same nudge as the server.
 */
export function resumeIceAfterRestart(pc: RTCPeerConnection): void {
  for (const dtls of pc.dtlsTransports) {
    const ice = dtls.iceTransport;
    if (dtls.state === 'connected' && !ice.connection.nominated && ice.connection.remoteUsername && ice.state !== 'checking') {
      ice.start().catch(() => undefined);
    }
  }
}

export function createPublisherPeer(opts: PublisherOptions): PublisherPeer {
  const pc = new RTCPeerConnection({
    ...loopbackPeerConfig(opts.stunPort),
    codecs: { video: [vp8Codec()], audio: [opusCodec()] },
    headerExtensions: { video: [useSdesMid(), useSdesRTPStreamId()], audio: [useSdesMid()] },
  });
  let videoTrack: MediaStreamTrack | undefined;
  let audioTrack: MediaStreamTrack | undefined;
  let videoTransceiver: RTCRtpTransceiver | undefined;
  let audioTransceiver: RTCRtpTransceiver | undefined;
  if (opts.video ?? true) {
    videoTrack = new MediaStreamTrack({ kind: 'video' });
    videoTransceiver = pc.addTransceiver(videoTrack, { direction: 'sendonly' });
  }
  if (opts.audio ?? true) {
    audioTrack = new MediaStreamTrack({ kind: 'audio' });
    audioTransceiver = pc.addTransceiver(audioTrack, { direction: 'sendonly' });
  }
  return {
    pc,
    videoTransceiver,
    audioTransceiver,
    async createOffer(o = {}) {
      const offer = await pc.createOffer({ iceRestart: o.iceRestart ?? false });
      await pc.setLocalDescription(offer);
      await whenGathered(pc);
      return pc.localDescription!.sdp;
    },
    async setAnswer(sdp) {
      await pc.setRemoteDescription({ type: 'answer', sdp });
      resumeIceAfterRestart(pc);
    },
    sendVideo(rtp) {
      videoTrack?.writeRtp(rtp);
    },
    sendAudio(rtp) {
      audioTrack?.writeRtp(rtp);
    },
    connected: () => whenConnected(pc),
    close: () => pc.close(),
  };
}
