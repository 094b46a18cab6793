import type { RtpCodec } from './types.js';

/** The codecs Lectern forwards, by the names a group's `codecs` list uses. */
export type CodecName = 'vp8' | 'vp9' | 'h264' | 'opus';

export interface RtcpFb {
  readonly type: string;
  readonly parameter?: string;
}

/**
 * A codec as Lectern offers it to viewers: Galène's fixed payload type (where an RtpCodec carries the
 * publisher's), its feedback and format parameters.
 */
export interface CodecSpec extends RtpCodec {
  readonly feedback: readonly RtcpFb[];
}

/** Video advertises REMB, NACK, PLI and FIR; audio advertises no feedback (as Galène does). */
export const VIDEO_FEEDBACK: readonly RtcpFb[] = Object.freeze([
  { type: 'goog-remb' },
  { type: 'nack' },
  { type: 'nack', parameter: 'pli' },
  { type: 'ccm', parameter: 'fir' },
]);

export const CODECS: Readonly<Record<CodecName, CodecSpec>> = Object.freeze({
  vp8: { name: 'vp8', kind: 'video', mimeType: 'video/VP8', clockRate: 90000, payloadType: 96, feedback: VIDEO_FEEDBACK },
  vp9: {
    name: 'vp9',
    kind: 'video',
    mimeType: 'video/VP9',
    clockRate: 90000,
    payloadType: 98,
    fmtp: 'profile-id=0',
    feedback: VIDEO_FEEDBACK,
  },
  h264: {
    name: 'h264',
    kind: 'video',
    mimeType: 'video/H264',
    clockRate: 90000,
    payloadType: 102,
    fmtp: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
    feedback: VIDEO_FEEDBACK,
  },
  opus: {
    name: 'opus',
    kind: 'audio',
    mimeType: 'audio/opus',
    clockRate: 48000,
    channels: 2,
    payloadType: 111,
    fmtp: 'minptime=10;useinbandfec=1;stereo=1',
    feedback: [],
  },
});

/** Known codec names from a group's `codecs` list, in order; unknown names are dropped. */
export function knownCodecs(names: readonly string[]): CodecName[] {
  const out: CodecName[] = [];
  for (const raw of names) {
    const n = raw.toLowerCase();
    if (n in CODECS && !out.includes(n as CodecName)) out.push(n as CodecName);
  }
  return out;
}

/** Parses `a=fmtp` parameters (`k=v;k2=v2`) into a map with lower-case keys. */
export function parseFmtp(fmtp: string | undefined): Map<string, string> {
  const m = new Map<string, string>();
  if (!fmtp) return m;
  for (const part of fmtp.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) {
      const k = part.trim().toLowerCase();
      if (k) m.set(k, '');
    } else {
      m.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
    }
  }
  return m;
}

/**
 * How well an offered codec (rtpmap name, clock, channels, fmtp) matches one of ours: 0 = not at all, higher is
 * better. H.264 needs packetization-mode=1 and a (constrained) baseline profile, since viewers are offered
 * 42e01f; VP9 needs profile 0.
 */
export function codecMatch(
  spec: CodecSpec,
  offered: { name: string; clockRate: number; channels?: number; fmtp?: string },
): number {
  if (offered.name.toLowerCase() !== spec.mimeType.split('/')[1]!.toLowerCase()) return 0;
  if (offered.clockRate !== spec.clockRate) return 0;
  if (spec.channels !== undefined && (offered.channels ?? 1) !== spec.channels) return 0;
  const p = parseFmtp(offered.fmtp);
  switch (spec.name) {
    case 'h264': {
      if (p.get('packetization-mode') !== '1') return 0;
      const profile = (p.get('profile-level-id') ?? '42e01f').toLowerCase();
      if (profile.startsWith('42e0')) return 2;
      if (profile.startsWith('4200')) return 1;
      return 0;
    }
    case 'vp9':
      return (p.get('profile-id') ?? '0') === '0' ? 1 : 0;
    default:
      return 1;
  }
}
