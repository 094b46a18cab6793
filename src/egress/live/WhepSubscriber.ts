/**
 * The live job's side of WHEP: a werift peer that POSTs a recvonly offer to the server's WHEP endpoint with
 * the job's Bearer token, and hands every RTP packet it receives to `onRtp`, untouched. It works from any
 * machine that can reach the server over HTTPS and UDP. It only sends PLIs (to get a keyframe when ffmpeg
 * starts) and the final DELETE.
 */
import http from 'node:http';
import https from 'node:https';
import { RTCPeerConnection, type RtpPacket, type RTCRtpTransceiver } from 'werift';
import { errorMessage, LecternError } from '../../errors.js';
import { CODECS } from '../../forward/codecs.js';
import { sharedLoopbackStun } from '../../forward/loopbackStun.js';
import { weriftCodec } from '../../forward/peerConfig.js';

export interface WhepIce {
  /** STUN/TURN servers, as in an RTCConfiguration (see `withLocalStun`: werift must never be left without one). */
  iceServers?: { urls: string | string[]; username?: string; credential?: string }[];
  /** Gather only these host addresses (e.g. 127.0.0.1 when the server is on this machine). */
  hostAddresses?: string[];
}

/**
 * `ice` with a STUN server werift can ask: without one it would query stun.l.google.com. When none is
 * configured, the process's loopback responder stands in (the ICE-lite server needs no reflexive candidate).
 */
export async function withLocalStun(ice: WhepIce): Promise<WhepIce> {
  const servers = ice.iceServers ?? [];
  const hasStun = servers.some((s) => (Array.isArray(s.urls) ? s.urls : [s.urls]).some((u) => /^stuns?:/.test(u)));
  if (hasStun) return ice;
  const { port } = await sharedLoopbackStun();
  return { ...ice, iceServers: [...servers, { urls: `stun:127.0.0.1:${port}` }] };
}

export interface NegotiatedCodec {
  /** rtpmap name: VP8, VP9, H264, opus */
  name: string;
  clockRate: number;
  channels?: number;
  fmtp?: string;
}

/** `video` is the lecture's main video, `inset` the camera while a screen is shared (the offer's second video). */
export type RtpListener = (kind: 'video' | 'inset' | 'audio', packet: RtpPacket) => void;

/** Payload type -> codec, from an SDP's rtpmap and fmtp lines. */
export function rtpMaps(sdp: string): Map<number, NegotiatedCodec> {
  const out = new Map<number, NegotiatedCodec>();
  for (const m of sdp.matchAll(/^a=rtpmap:(\d+) ([A-Za-z0-9-]+)\/(\d+)(?:\/(\d+))?\s*$/gm)) {
    out.set(Number(m[1]), { name: m[2]!, clockRate: Number(m[3]), ...(m[4] ? { channels: Number(m[4]) } : {}) });
  }
  for (const m of sdp.matchAll(/^a=fmtp:(\d+) (.+?)\s*$/gm)) {
    const c = out.get(Number(m[1]));
    if (c) c.fmtp = m[2]!;
  }
  return out;
}

/** POST/DELETE over http or https. A loopback https server (this machine's Lectern with its self-signed
 *  certificate) is not verified; any other host is. */
function request(url: URL, method: string, headers: Record<string, string>, body?: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(
      url,
      { method, headers, timeout: 10_000, ...(url.protocol === 'https:' && loopback ? { rejectUnauthorized: false } : {}) },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          if (text.length < 1_000_000) text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

export class WhepSubscriber {
  private readonly pc: RTCPeerConnection;
  private readonly transceivers: { kind: 'video' | 'inset' | 'audio'; t: RTCRtpTransceiver }[] = [];
  private location: URL | undefined;
  private closed = false;
  /** Payload types of the answer. */
  codecs = new Map<number, NegotiatedCodec>();
  onRtp: RtpListener = () => undefined;
  /** The connection failed or was closed by the server. */
  onClose: (reason: string) => void = () => undefined;

  constructor(
    private readonly url: string,
    private readonly token: string,
    ice: WhepIce,
  ) {
    const hosts = ice.hostAddresses ?? [];
    this.pc = new RTCPeerConnection({
      codecs: {
        video: [weriftCodec(CODECS.vp8), weriftCodec(CODECS.vp9), weriftCodec(CODECS.h264)],
        audio: [weriftCodec(CODECS.opus)],
      },
      iceServers: (ice.iceServers ?? []).flatMap((s) => (Array.isArray(s.urls) ? s.urls : [s.urls]).map((urls) => ({ ...s, urls }))),
      bundlePolicy: 'max-bundle',
      ...(hosts.length > 0 ? { iceUseIpv4: false, iceUseIpv6: false, iceAdditionalHostAddresses: [...hosts] } : {}),
    });
    // Two video sections: the server sends the main video on the first, the camera inset on the second.
    for (const kind of ['video', 'inset', 'audio'] as const) {
      const t = this.pc.addTransceiver(kind === 'inset' ? 'video' : kind, { direction: 'recvonly' });
      this.transceivers.push({ kind, t });
      t.onTrack.subscribe((track) => track.onReceiveRtp.subscribe((p) => this.onRtp(kind, p)));
    }
    this.pc.connectionStateChange.subscribe((s) => {
      if (s === 'failed' || s === 'closed') this.onClose(`WebRTC connection ${s}`);
    });
  }

  /** Offers, POSTs and applies the answer. Throws LecternError 'whep-refused' with the server's reason. */
  async connect(): Promise<void> {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    const offer = this.pc.localDescription!.sdp;
    let res;
    try {
      res = await request(new URL(this.url), 'POST', { 'Content-Type': 'application/sdp', Authorization: `Bearer ${this.token}` }, offer);
    } catch (err) {
      throw new LecternError('whep-unreachable', `cannot reach ${this.url}: ${errorMessage(err)}`, { cause: err });
    }
    if (res.status !== 201) throw new LecternError('whep-refused', `WHEP ${res.status}: ${res.text.slice(0, 200)}`);
    if (this.closed) return;
    const loc = res.headers.location;
    if (loc) this.location = new URL(loc, this.url);
    this.codecs = rtpMaps(res.text);
    await this.pc.setRemoteDescription({ type: 'answer', sdp: res.text });
  }

  /** Asks the server for a keyframe (PLI on each video receiver). */
  requestKeyframe(): void {
    for (const { kind, t } of this.transceivers) {
      const ssrc = t.receiver.tracks[0]?.ssrc;
      if (kind === 'audio' || this.closed || ssrc === undefined) continue;
      t.receiver.sendRtcpPLI(ssrc).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const loc = this.location;
    if (loc) await request(loc, 'DELETE', { Authorization: `Bearer ${this.token}` }).catch(() => undefined);
    await this.pc.close().catch(() => undefined);
  }
}
