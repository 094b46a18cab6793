import { LecternError } from '../errors.js';
import { CODECS, codecMatch, type CodecName } from '../forward/codecs.js';
import { joinSdp, looksLikeSdp, parseMline, splitSdp, type SdpSection } from '../forward/sdpText.js';
import type { RtpCodec, TrackKind } from '../forward/types.js';

/** One media section of a publisher's offer, after sanitizing. */
export interface OfferedMedia {
  readonly index: number;
  readonly kind: string;
  readonly mid: string | undefined;
  readonly port: number;
  /** The codec kept for an audio/video section (undefined for other kinds). */
  readonly codec: RtpCodec | undefined;
  /** Simulcast layers (rids), best first (`bestLayerFirst`); empty when not simulcast. */
  readonly rids: readonly string[];
}

export interface SanitizedOffer {
  /** The offer as handed to werift. */
  readonly sdp: string;
  readonly media: readonly OfferedMedia[];
}

const VIDEO_FB = new Set(CODECS.vp8.feedback.map((f) => (f.parameter ? `${f.type} ${f.parameter}` : f.type)));

/**
 * Rewrites a publisher's offer before werift sees it, so that werift's answer says exactly what Lectern
 * supports: per audio/video section one codec (the first offered that the group allows), video feedback
 * restricted to goog-remb/nack/pli/fir, audio feedback none, no RTX/RED/FEC, opus with Galène's fmtp, and rid
 * lines reduced to `a=rid:<id> send` (werift misreads rid restrictions). Header extensions are filtered by
 * werift against the configured ones (mid, rid, repaired-rid).
 *
 * Throws LecternError 'bad-sdp' on text that is not SDP, or on an audio/video section with no acceptable codec.
 */
export function sanitizeOffer(sdp: unknown, allowed: readonly CodecName[]): SanitizedOffer {
  if (!looksLikeSdp(sdp)) throw new LecternError('bad-sdp', 'the offer is not an SDP description');
  const sections = splitSdp(sdp.replace(/^\s+/, ''));
  const media: OfferedMedia[] = [];
  let mediaWithCodec = 0;
  sections.media.forEach((section, index) => {
    const ml = parseMline(section.mline!)!;
    const mid = attrValue(section, 'mid');
    if (ml.kind !== 'audio' && ml.kind !== 'video') {
      media.push({ index, kind: ml.kind, mid, port: ml.port, codec: undefined, rids: [] });
      return;
    }
    const codec = chooseCodec(section, ml.kind, ml.fmts, allowed);
    if (!codec) {
      if (ml.port === 0) {
        media.push({ index, kind: ml.kind, mid, port: 0, codec: undefined, rids: [] });
        return;
      }
      throw new LecternError(
        'bad-sdp',
        `no acceptable ${ml.kind} codec in the offer (the group allows ${allowed.join(', ') || 'none'})`,
      );
    }
    mediaWithCodec++;
    const rids = bestLayerFirst(rewriteSection(section, ml.kind, codec));
    media.push({ index, kind: ml.kind, mid, port: ml.port, codec, rids });
  });
  if (mediaWithCodec === 0) throw new LecternError('bad-sdp', 'the offer has no audio or video to receive');
  return { sdp: joinSdp(sections), media };
}

function attrValue(section: SdpSection, name: string): string | undefined {
  const prefix = `a=${name}:`;
  return section.lines.find((l) => l.startsWith(prefix))?.slice(prefix.length).trim();
}

function chooseCodec(
  section: SdpSection,
  kind: TrackKind,
  fmts: readonly string[],
  allowed: readonly CodecName[],
): RtpCodec | undefined {
  const specs = allowed.map((n) => CODECS[n]).filter((s) => s.kind === kind);
  let best: { codec: RtpCodec; score: number } | undefined;
  for (const fmt of fmts) {
    const pt = Number(fmt);
    if (!Number.isInteger(pt) || pt < 0 || pt > 127) continue;
    const rtpmap = section.lines.find((l) => l.startsWith(`a=rtpmap:${pt} `))?.slice(`a=rtpmap:${pt} `.length);
    if (!rtpmap) continue;
    const [name = '', clock = '', channels] = rtpmap.trim().split('/');
    const fmtp = section.lines.find((l) => l.startsWith(`a=fmtp:${pt} `))?.slice(`a=fmtp:${pt} `.length).trim();
    for (const spec of specs) {
      const score = codecMatch(spec, {
        name,
        clockRate: Number(clock),
        channels: channels === undefined ? undefined : Number(channels),
        fmtp,
      });
      if (score === 0) continue;
      // The offer's order is the publisher's preference; a better H.264 profile wins within the same codec.
      if (!best || (best.codec.name === spec.name && score > best.score)) {
        best = {
          score,
          codec: {
            name: spec.name,
            kind,
            mimeType: spec.mimeType,
            clockRate: spec.clockRate,
            channels: spec.channels,
            payloadType: pt,
            fmtp: spec.name === 'opus' ? spec.fmtp : fmtp,
          },
        };
      }
      break;
    }
  }
  return best?.codec;
}

/**
 * How rids are named in practice, best layer first: `f`ull, `h`alf, `q`uarter (Chrome's examples and most
 * apps, offered `q;h;f` or `f;h;q`), and Galène's client `h`igh, `l`ow. One ranking serves both since no
 * client mixes the two schemes: f < h < m < q < l.
 */
const RID_RANK: Readonly<Record<string, number>> = { f: 0, h: 1, m: 2, q: 3, l: 4 };

/** The rids ordered best layer first when every name is a known one; otherwise in the offer's order. */
export function bestLayerFirst(rids: string[]): string[] {
  if (!rids.every((r) => Object.hasOwn(RID_RANK, r))) return rids;
  return [...rids].sort((a, b) => RID_RANK[a]! - RID_RANK[b]!);
}

/** Keeps one payload type in the section; returns the rids in the offer's order. */
function rewriteSection(section: SdpSection, kind: TrackKind, codec: RtpCodec): string[] {
  const pt = String(codec.payloadType);
  const rids: string[] = [];
  const out: string[] = [];
  // With rids, layers are told apart by the rid header extension; SSRC lines would make werift bind the
  // first SSRC to a non-simulcast track (Firefox lists its layers' SSRCs).
  const simulcast = section.lines.some((l) => /^a=rid:\S+ send\b/.test(l));
  for (const line of section.lines) {
    if (simulcast && line.startsWith('a=ssrc:')) continue;
    if (line.startsWith('m=')) {
      const parts = line.split(' ');
      out.push([...parts.slice(0, 3), pt].join(' '));
      continue;
    }
    const ptAttr = /^a=(rtpmap|fmtp|rtcp-fb):(\S+)(?: (.*))?$/.exec(line);
    if (ptAttr) {
      const [, name, linePt, rest = ''] = ptAttr;
      if (linePt !== pt) continue; // other codecs, RTX, RED, FEC, and wildcard feedback
      if (name === 'fmtp' && codec.name === 'opus') {
        out.push(`a=fmtp:${pt} ${codec.fmtp}`);
        continue;
      }
      if (name === 'rtcp-fb' && (kind === 'audio' || !VIDEO_FB.has(rest.trim()))) continue;
      out.push(line);
      continue;
    }
    if (line.startsWith('a=ssrc-group:')) continue; // FID (RTX) and SIM groups: we negotiate neither
    const rid = /^a=rid:(\S+) (send|recv)\b/.exec(line);
    if (rid) {
      if (rid[2] === 'send') {
        rids.push(rid[1]!);
        out.push(`a=rid:${rid[1]} send`);
      }
      continue;
    }
    out.push(line);
  }
  if (codec.name === 'opus' && !out.some((l) => l.startsWith(`a=fmtp:${pt} `))) {
    const i = out.findIndex((l) => l.startsWith(`a=rtpmap:${pt} `));
    out.splice(i + 1, 0, `a=fmtp:${pt} ${codec.fmtp}`);
  }
  section.lines = out;
  return rids;
}
