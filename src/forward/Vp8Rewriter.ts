/**
 * Keeps a viewer's VP8 picture ids and TL0PICIDX continuous across a change of source (a simulcast layer
 * switch): each layer numbers its pictures independently, and the viewer's decoder (libwebrtc's frame
 * reference finder) must see one stream. RFC 7741 §4.2: after the first byte, if X is set, a byte with I
 * (picture id present), L (TL0PICIDX present); the picture id is 7 bits, or 15 bits when its first bit (M) is
 * set; TL0PICIDX follows it.
 *
 * Rewriting changes the payload, which is shared by every viewer: while the offsets are zero (no switch yet)
 * the original payload is sent; otherwise it is copied into this track's scratch buffer (reused: the sink
 * encrypts synchronously) and patched there.
 */

const PIC15 = 0x8000;
const TL0 = 0x100;

export class Vp8Rewriter {
  private picOffset = 0;
  private tl0Offset = 0;
  /** The previous source's offsets, for retransmissions of its last packets after a switch. */
  private prevPicOffset = 0;
  private prevTl0Offset = 0;
  /** The newest picture id / TL0PICIDX sent (15-bit space / 8-bit), -1 before the first. */
  private lastPic = -1;
  private lastTl0 = -1;
  /** Allocated at the first rewrite (most viewers never switch layers; audio never rewrites). */
  private scratch: Buffer | undefined;
  // Parse results (fields rather than an object: no allocation per packet).
  private picPos = -1;
  private picLong = false;
  private tl0Pos = -1;

  /** True once a switch made the numbering differ from the source's. */
  get rewriting(): boolean {
    return this.picOffset !== 0 || this.tl0Offset !== 0;
  }

  /**
   * A new source starts with this payload (its first packet, a keyframe): its picture follows the last one
   * sent, and its TL0PICIDX the last one sent.
   */
  restart(payload: Uint8Array): void {
    this.prevPicOffset = this.picOffset;
    this.prevTl0Offset = this.tl0Offset;
    if (!this.parse(payload)) return;
    if (this.picPos >= 0 && this.lastPic >= 0) {
      const pic = this.readPic(payload);
      const mod = this.picLong ? PIC15 : 0x80;
      this.picOffset = mod15(this.lastPic + 1 - pic, mod);
    }
    if (this.tl0Pos >= 0 && this.lastTl0 >= 0) {
      this.tl0Offset = (this.lastTl0 + 1 - payload[this.tl0Pos]!) & 0xff;
    }
  }

  /**
   * The payload to send for `payload`: itself, or a patched copy in the scratch buffer. `previous`: a
   * retransmission of a packet of the source before the last `restart`.
   */
  rewrite(payload: Buffer, previous = false): Buffer {
    if (!this.parse(payload)) return payload;
    const picOffset = previous ? this.prevPicOffset : this.picOffset;
    const tl0Offset = previous ? this.prevTl0Offset : this.tl0Offset;
    let pic = -1;
    let tl0 = -1;
    if (this.picPos >= 0) {
      const mod = this.picLong ? PIC15 : 0x80;
      pic = (this.readPic(payload) + picOffset) % mod;
      if (!previous && (this.lastPic < 0 || diffMod(pic, this.lastPic, mod) > 0)) this.lastPic = pic;
    }
    if (this.tl0Pos >= 0) {
      tl0 = (payload[this.tl0Pos]! + tl0Offset) & 0xff;
      if (!previous && (this.lastTl0 < 0 || diffMod(tl0, this.lastTl0, TL0) > 0)) this.lastTl0 = tl0;
    }
    if (picOffset === 0 && tl0Offset === 0) return payload;
    const n = payload.length;
    // Its own memory, not a slice of node's shared 8 KB pool that it would keep alive.
    if (!this.scratch || this.scratch.length < n) this.scratch = Buffer.allocUnsafeSlow(Math.max(n, 1500, 2 * (this.scratch?.length ?? 0)));
    const out = this.scratch;
    payload.copy(out, 0, 0, n);
    if (pic >= 0) {
      if (this.picLong) {
        out[this.picPos] = 0x80 | (pic >> 8);
        out[this.picPos + 1] = pic & 0xff;
      } else {
        out[this.picPos] = pic & 0x7f;
      }
    }
    if (tl0 >= 0) out[this.tl0Pos] = tl0;
    return out.subarray(0, n);
  }

  /** Finds the picture id and TL0PICIDX; false if the descriptor carries neither (or is truncated). */
  private parse(p: Uint8Array): boolean {
    this.picPos = -1;
    this.tl0Pos = -1;
    if (p.length < 2 || (p[0]! & 0x80) === 0) return false;
    const x = p[1]!;
    let i = 2;
    if (x & 0x80) {
      if (p.length <= i) return false;
      this.picLong = (p[i]! & 0x80) !== 0;
      if (this.picLong && p.length <= i + 1) return false;
      this.picPos = i;
      i += this.picLong ? 2 : 1;
    }
    if (x & 0x40) {
      if (p.length <= i) {
        this.picPos = -1;
        return false;
      }
      this.tl0Pos = i;
    }
    return this.picPos >= 0 || this.tl0Pos >= 0;
  }

  private readPic(p: Uint8Array): number {
    const i = this.picPos;
    return this.picLong ? ((p[i]! & 0x7f) << 8) | p[i + 1]! : p[i]! & 0x7f;
  }
}

/**
 * The temporal layer (TID) of a VP8 packet from its payload descriptor (RFC 7741 §4.2: X, then I/L/T/K, the
 * picture id, TL0PICIDX, then TID|Y|KEYIDX when T or K is set), or -1 when it carries none (T not set).
 */
export function vp8TemporalLayer(p: Uint8Array): number {
  if (p.length < 2 || (p[0]! & 0x80) === 0) return -1;
  const x = p[1]!;
  if ((x & 0x20) === 0) return -1;
  let i = 2;
  if (x & 0x80) i += p.length > i && p[i]! & 0x80 ? 2 : 1;
  if (x & 0x40) i += 1;
  return p.length > i ? p[i]! >> 6 : -1;
}

function mod15(v: number, mod: number): number {
  return ((v % mod) + mod) % mod;
}

/** Signed distance a - b in a space of `mod` values. */
function diffMod(a: number, b: number, mod: number): number {
  const d = mod15(a - b, mod);
  return d >= mod / 2 ? d - mod : d;
}
