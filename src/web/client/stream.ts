/**
 * One-way media streams as Galène models them: one RTCPeerConnection per stream. A DownStream is offered by
 * the server (we answer); an UpStream is offered by us (the server answers).
 */

import type { Message as WireMessage } from '../../signal/messages.js';

/** The wire envelope (galene-protocol.md §2.3), as the server defines it, with the browser's own types for ICE. */
export type Message = Omit<WireMessage, 'candidate' | 'rtcConfiguration'> & {
  candidate?: RTCIceCandidateInit;
  rtcConfiguration?: RTCConfiguration;
};

export type Send = (m: Message) => void;

/** 32 random hex digits, the form Galène uses for client and stream ids. */
export function randomId(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

abstract class Stream {
  readonly pc: RTCPeerConnection;
  private pendingIce: RTCIceCandidateInit[] = [];
  closed = false;

  constructor(
    readonly id: string,
    readonly label: string,
    config: RTCConfiguration,
    protected readonly send: Send,
    protected readonly onChange: () => void,
  ) {
    this.pc = new RTCPeerConnection(config);
    this.pc.onicecandidate = (e) => {
      if (e.candidate) this.send({ type: 'ice', id: this.id, candidate: e.candidate.toJSON() });
    };
    this.pc.oniceconnectionstatechange = () => {
      if (this.pc.iceConnectionState === 'failed') this.iceFailed();
      this.onChange();
    };
  }

  protected abstract iceFailed(): void;

  async gotIce(candidate: RTCIceCandidateInit): Promise<void> {
    if (this.closed) return;
    if (!this.pc.remoteDescription) {
      this.pendingIce.push(candidate);
      return;
    }
    await this.pc.addIceCandidate(candidate).catch(() => undefined);
  }

  protected async flushIce(): Promise<void> {
    const pending = this.pendingIce;
    this.pendingIce = [];
    for (const c of pending) await this.pc.addIceCandidate(c).catch(() => undefined);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pc.close();
    this.onChange();
  }
}

/** A stream the server forwards to us. */
export class DownStream extends Stream {
  readonly stream = new MediaStream();

  constructor(
    id: string,
    label: string,
    readonly source: string,
    readonly username: string,
    config: RTCConfiguration,
    send: Send,
    onChange: () => void,
  ) {
    super(id, label, config, send, onChange);
    this.pc.ontrack = (e) => {
      for (const old of this.stream.getTracks()) if (old.kind === e.track.kind) this.stream.removeTrack(old);
      this.stream.addTrack(e.track);
      e.track.onended = () => {
        this.stream.removeTrack(e.track);
        this.onChange();
      };
      this.onChange();
    };
  }

  async gotOffer(sdp: string): Promise<void> {
    await this.pc.setRemoteDescription({ type: 'offer', sdp });
    await this.flushIce();
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    if (this.closed) return;
    this.send({ type: 'answer', id: this.id, sdp: this.pc.localDescription?.sdp ?? '' });
  }

  protected iceFailed(): void {
    this.send({ type: 'renegotiate', id: this.id });
  }

  hasVideo(): boolean {
    return this.stream.getVideoTracks().length > 0;
  }
}

/** A stream we publish (needs the `present` permission). */
export class UpStream extends Stream {
  /** The stream this one was published to replace, if any. */
  readonly replaces: string | undefined;

  constructor(
    label: string,
    readonly stream: MediaStream,
    private readonly me: { source: string; username: string },
    config: RTCConfiguration,
    send: Send,
    onChange: () => void,
    private replace?: string,
    maxVideoBitrate?: number,
  ) {
    super(randomId(), label, config, send, onChange);
    this.replaces = replace;
    for (const t of stream.getTracks()) {
      // One encoding for video, so that setMaxBitrate can change its cap later without renegotiating.
      const sendEncodings = t.kind === 'video' ? [maxVideoBitrate ? { maxBitrate: maxVideoBitrate } : {}] : undefined;
      this.pc.addTransceiver(t, { direction: 'sendonly', streams: [stream], sendEncodings });
    }
  }

  /** Caps (or, with undefined, uncaps) the bitrate of our video senders. */
  async setMaxBitrate(bps: number | undefined): Promise<void> {
    for (const sender of this.pc.getSenders()) {
      if (sender.track?.kind !== 'video' || this.closed) continue;
      const params = sender.getParameters();
      if (params.encodings.length === 0) params.encodings = [{}];
      for (const e of params.encodings) {
        if (bps) e.maxBitrate = bps;
        else delete e.maxBitrate;
      }
      await sender.setParameters(params);
    }
  }

  async negotiate(iceRestart = false): Promise<void> {
    const offer = await this.pc.createOffer({ iceRestart });
    await this.pc.setLocalDescription(offer);
    if (this.closed) return;
    this.send({
      type: 'offer',
      id: this.id,
      label: this.label,
      replace: this.replace,
      source: this.me.source,
      username: this.me.username,
      sdp: this.pc.localDescription?.sdp ?? '',
    });
    this.replace = undefined;
  }

  async gotAnswer(sdp: string): Promise<void> {
    await this.pc.setRemoteDescription({ type: 'answer', sdp });
    await this.flushIce();
    this.onChange();
  }

  protected iceFailed(): void {
    void this.negotiate(true).catch(() => undefined);
  }
}
