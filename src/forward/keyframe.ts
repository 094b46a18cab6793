import type { CodecName } from './codecs.js';

/**
 * Keyframe detection from an RTP payload, per codec. Only the first packet of a keyframe is recognised for
 * VP8 and VP9 (that is where the payload header lives); for H.264 any packet carrying an IDR slice or an SPS.
 */
export function isKeyframe(codec: CodecName, payload: Uint8Array): boolean {
  switch (codec) {
    case 'vp8':
      return vp8Keyframe(payload);
    case 'vp9':
      return vp9Keyframe(payload);
    case 'h264':
      return h264Keyframe(payload);
    default:
      return false;
  }
}

/** RFC 7741: payload descriptor, then the VP8 payload header whose P bit is 0 on a keyframe. */
function vp8Keyframe(p: Uint8Array): boolean {
  if (p.length < 1) return false;
  const b0 = p[0]!;
  const start = (b0 & 0x10) !== 0;
  const partition = b0 & 0x07;
  if (!start || partition !== 0) return false;
  let i = 1;
  if (b0 & 0x80) {
    if (p.length < 2) return false;
    const b1 = p[1]!;
    i = 2;
    if (b1 & 0x80) {
      // PictureID, 7 or 15 bits
      if (p.length <= i) return false;
      i += p[i]! & 0x80 ? 2 : 1;
    }
    if (b1 & 0x40) i += 1; // TL0PICIDX
    if (b1 & 0x30) i += 1; // TID/Y/KEYIDX
  }
  if (p.length <= i) return false;
  return (p[i]! & 0x01) === 0;
}

/**
 * draft-ietf-payload-vp9: a frame that is not inter-picture predicted (P=0), at its beginning (B=1), in the
 * base spatial layer.
 */
function vp9Keyframe(p: Uint8Array): boolean {
  if (p.length < 1) return false;
  const b0 = p[0]!;
  const hasPictureId = (b0 & 0x80) !== 0;
  const interPredicted = (b0 & 0x40) !== 0;
  const hasLayers = (b0 & 0x20) !== 0;
  const beginning = (b0 & 0x08) !== 0;
  if (interPredicted || !beginning) return false;
  let i = 1;
  if (hasPictureId) {
    if (p.length <= i) return false;
    i += p[i]! & 0x80 ? 2 : 1;
  }
  if (hasLayers) {
    if (p.length <= i) return false;
    const sid = (p[i]! >> 1) & 0x07;
    if (sid !== 0) return false;
  }
  return true;
}

const NAL_IDR = 5;
const NAL_SPS = 7;
const NAL_STAP_A = 24;
const NAL_FU_A = 28;

/** RFC 6184: single NAL units, STAP-A aggregates and the first fragment of an FU-A. */
function h264Keyframe(p: Uint8Array): boolean {
  if (p.length < 1) return false;
  const type = p[0]! & 0x1f;
  if (type === NAL_IDR || type === NAL_SPS) return true;
  if (type === NAL_STAP_A) {
    let i = 1;
    while (i + 2 < p.length) {
      const size = (p[i]! << 8) | p[i + 1]!;
      const t = p[i + 2]! & 0x1f;
      if (t === NAL_IDR || t === NAL_SPS) return true;
      i += 2 + size;
    }
    return false;
  }
  if (type === NAL_FU_A) {
    if (p.length < 2) return false;
    const startBit = (p[1]! & 0x80) !== 0;
    const t = p[1]! & 0x1f;
    return startBit && (t === NAL_IDR || t === NAL_SPS);
  }
  return false;
}
