/**
 * One ffmpeg run of a live job: loopback UDP ports for the incoming RTP, the SDP file describing them, and
 * ffmpeg itself (through egress/ffmpeg's runner). `send` forwards a packet as received; `close` kills ffmpeg.
 */
import dgram from 'node:dgram';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { RtpPacket } from 'werift';
import { runFfmpeg } from '../ffmpeg/index.js';
import { liveHlsArgs, liveSdp, type LiveInputs, type LiveOutputOptions } from './liveArgs.js';
import type { NegotiatedCodec } from './WhepSubscriber.js';

/** What a run receives: the main video, the camera inset (while a screen is shared), the audio. */
export type RunKind = 'video' | 'inset' | 'audio';
export const RUN_KINDS = ['video', 'inset', 'audio'] as const;

export type RunInputs = Partial<Record<RunKind, { payloadType: number; codec: NegotiatedCodec }>>;

function bind(port: number): Promise<dgram.Socket | undefined> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(undefined);
    });
    s.bind(port, '127.0.0.1', () => resolve(s));
  });
}

/** An even port whose successor is free too (RTP + RTCP), released for ffmpeg to take. */
async function freePortPair(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const probe = await bind(0);
    if (!probe) continue;
    const base = probe.address().port & ~1;
    probe.close();
    const a = await bind(base);
    const b = a ? await bind(base + 1) : undefined;
    a?.close();
    b?.close();
    if (a && b) return base;
  }
  throw new Error('no free loopback UDP port pair');
}

export class LiveRun {
  readonly done: Promise<Error | undefined>;
  private readonly abort = new AbortController();
  private socket: dgram.Socket | undefined;
  private ports: Partial<Record<RunKind, number>> = {};
  private closed = false;
  /** Set when ffmpeg exited (by itself or killed). */
  exited = false;
  private started!: () => void;
  private readonly ready = new Promise<void>((r) => (this.started = r));

  private constructor(
    readonly prefix: string,
    readonly inputs: RunInputs,
    private readonly dir: string,
    private readonly output: Omit<LiveOutputOptions, 'dir' | 'prefix'>,
    private readonly ffmpegPath: string | undefined,
  ) {
    this.done = this.ready.then(() => this.spawn());
  }

  static async start(prefix: string, inputs: RunInputs, dir: string, output: Omit<LiveOutputOptions, 'dir' | 'prefix'>, ffmpegPath?: string): Promise<LiveRun> {
    const run = new LiveRun(prefix, inputs, dir, output, ffmpegPath);
    try {
      for (const kind of RUN_KINDS) if (inputs[kind]) run.ports[kind] = await freePortPair();
      run.socket = dgram.createSocket('udp4');
      run.socket.on('error', () => undefined); // nothing listening yet: the packet is simply lost
      await writeFile(path.join(dir, `${prefix}.sdp`), liveSdp(run.liveInputs()));
    } catch (err) {
      run.close();
      throw err;
    }
    run.started();
    return run;
  }

  private liveInputs(): LiveInputs {
    const out: LiveInputs = {};
    for (const kind of RUN_KINDS) {
      const i = this.inputs[kind];
      const port = this.ports[kind];
      if (!i || port === undefined) continue;
      out[kind] = {
        codec: i.codec.name,
        payloadType: i.payloadType,
        clockRate: i.codec.clockRate,
        ...(i.codec.channels ? { channels: i.codec.channels } : {}),
        ...(i.codec.fmtp ? { fmtp: i.codec.fmtp } : {}),
        port,
      };
    }
    return out;
  }

  private async spawn(): Promise<Error | undefined> {
    if (this.closed) return undefined;
    const args = liveHlsArgs(path.join(this.dir, `${this.prefix}.sdp`), this.liveInputs(), { ...this.output, dir: this.dir, prefix: this.prefix });
    try {
      await runFfmpeg(args, { signal: this.abort.signal, ...(this.ffmpegPath ? { ffmpegPath: this.ffmpegPath } : {}) });
      return undefined;
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    } finally {
      this.exited = true;
    }
  }

  send(kind: RunKind, packet: RtpPacket): void {
    const port = this.ports[kind];
    if (this.closed || port === undefined || !this.socket) return;
    this.socket.send(packet.serialize(), port, '127.0.0.1');
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.abort.abort();
    try {
      this.socket?.close();
    } catch {
      // already closed
    }
  }
}
