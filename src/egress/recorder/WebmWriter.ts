import { open, type FileHandle } from 'node:fs/promises';
import { LecternError, errorMessage } from '../../errors.js';
import { ID, element, float64, openElement, str, uint, vint } from './ebml.js';

export type RecordedCodec = 'vp8' | 'vp9' | 'opus';

export interface WriterTrack {
  kind: 'audio' | 'video';
  codec: RecordedCodec;
  /** Video: the size of the first keyframe (the bitstream carries later changes). */
  width?: number;
  height?: number;
}

/** A new cluster starts at each video keyframe, and at least this often, so a killed recorder loses little. */
const MAX_CLUSTER_MS = 1000;
/** SimpleBlock timestamps are signed 16-bit offsets from their cluster's. */
const MAX_BLOCK_OFFSET_MS = 32767;

const CODEC_IDS: Record<RecordedCodec, string> = { vp8: 'V_VP8', vp9: 'V_VP9', opus: 'A_OPUS' };

/**
 * Writes a WebM file as frames arrive. Every cluster is written whole, with its size, once it is complete: a
 * file cut short (the process killed) stays playable up to its last cluster. `close()` patches the Segment
 * size and the Duration, so a cleanly closed file has a duration without being remuxed.
 *
 * Writes are queued in order on one file handle; the first write error is kept and thrown by `close()`.
 */
export class WebmWriter {
  private cluster: Buffer[] = [];
  private clusterStart = 0;
  private position = 0;
  private queue: Promise<void> = Promise.resolve();
  private error: unknown;
  private closed: Promise<number> | undefined;
  private readonly last: { time: number; delta: number }[];

  private constructor(
    private readonly fh: FileHandle,
    readonly path: string,
    private readonly tracks: readonly WriterTrack[],
    private readonly segmentDataStart: number,
    private readonly durationPosition: number,
  ) {
    this.last = tracks.map(() => ({ time: -1, delta: 0 }));
  }

  /** Creates `path` (mode 0600; fails if it exists, code EEXIST) and writes the header. */
  static async create(path: string, tracks: readonly WriterTrack[]): Promise<WebmWriter> {
    if (tracks.length === 0) throw new LecternError('recorder-no-tracks', 'nothing to record');
    const header = Buffer.concat([
      element(
        ID.EBML,
        uint(ID.EBMLVersion, 1),
        uint(ID.EBMLReadVersion, 1),
        uint(ID.EBMLMaxIDLength, 4),
        uint(ID.EBMLMaxSizeLength, 8),
        str(ID.DocType, 'webm'),
        uint(ID.DocTypeVersion, 4),
        uint(ID.DocTypeReadVersion, 2),
      ),
      openElement(ID.Segment),
    ]);
    const info = element(
      ID.Info,
      uint(ID.TimestampScale, 1_000_000),
      str(ID.MuxingApp, 'Lectern'),
      str(ID.WritingApp, 'Lectern'),
      float64(ID.Duration, 0),
    );
    const fh = await open(path, 'wx', 0o600);
    const writer = new WebmWriter(fh, path, tracks, header.length, header.length + info.length - 8);
    writer.append(Buffer.concat([header, info, element(ID.Tracks, ...tracks.map(trackEntry))]));
    return writer;
  }

  /**
   * Adds one frame of track `track` (an index into the tracks given to `create`) at `timeMs` from the start
   * of the recording. Frames should come in time order; one earlier than its track's last frame is placed
   * just after it, one earlier than its cluster at the cluster's start.
   */
  write(track: number, timeMs: number, keyframe: boolean, data: Buffer): void {
    if (this.closed) return;
    const kind = this.tracks[track]?.kind;
    if (!kind) throw new RangeError(`no track ${track}`);
    const last = this.last[track]!;
    // A track's blocks are strictly increasing in time (players and ffmpeg refuse a dts that does not move on):
    // a frame that completes late, after a later one (a retransmission), goes right after its track's last.
    let time = Math.max(0, Math.round(timeMs), last.time + 1);
    if (
      this.cluster.length > 0 &&
      ((kind === 'video' && keyframe) || time - this.clusterStart >= MAX_CLUSTER_MS || time - this.clusterStart > MAX_BLOCK_OFFSET_MS)
    ) {
      this.flushCluster();
    }
    if (this.cluster.length === 0) {
      this.clusterStart = time;
      this.cluster.push(uint(ID.Timestamp, time));
    }
    time = Math.max(time, this.clusterStart);
    if (last.time >= 0) last.delta = time - last.time;
    last.time = time;
    const head = Buffer.alloc(3);
    head.writeInt16BE(time - this.clusterStart, 0);
    head[2] = keyframe || kind === 'audio' ? 0x80 : 0;
    this.cluster.push(element(ID.SimpleBlock, vint(track + 1), head, data));
  }

  /** The end of the last frame written so far, in ms. */
  get durationMs(): number {
    return Math.max(0, ...this.last.map((l) => (l.time < 0 ? 0 : l.time + l.delta)));
  }

  /** Writes the last cluster, patches sizes and duration, closes the file. Resolves to the duration in ms. */
  close(): Promise<number> {
    return (this.closed ??= (async () => {
      this.flushCluster();
      const duration = this.durationMs;
      const size = vint(this.position - this.segmentDataStart, 8);
      const dur = Buffer.alloc(8);
      dur.writeDoubleBE(duration);
      this.enqueue(async () => {
        await this.fh.write(size, 0, 8, this.segmentDataStart - 8);
        await this.fh.write(dur, 0, 8, this.durationPosition);
      });
      await this.queue;
      await this.fh.close().catch(() => undefined);
      if (this.error !== undefined) {
        throw new LecternError('recorder-write', `cannot write ${this.path}: ${errorMessage(this.error)}`, { cause: this.error });
      }
      return duration;
    })());
  }

  private flushCluster(): void {
    if (this.cluster.length === 0) return;
    const cluster = element(ID.Cluster, ...this.cluster);
    this.cluster = [];
    this.append(cluster);
  }

  private append(buf: Buffer): void {
    const at = this.position;
    this.position += buf.length;
    this.enqueue(async () => {
      await this.fh.write(buf, 0, buf.length, at);
    });
  }

  private enqueue(op: () => Promise<void>): void {
    this.queue = this.queue.then(async () => {
      if (this.error !== undefined) return;
      try {
        await op();
      } catch (e) {
        this.error = e;
      }
    });
  }
}

function trackEntry(t: WriterTrack, i: number): Buffer {
  const common = [
    uint(ID.TrackNumber, i + 1),
    uint(ID.TrackUID, i + 1),
    uint(ID.TrackType, t.kind === 'video' ? 1 : 2),
    uint(ID.FlagLacing, 0),
    str(ID.CodecID, CODEC_IDS[t.codec]),
  ];
  if (t.kind === 'video') {
    return element(
      ID.TrackEntry,
      ...common,
      element(ID.Video, uint(ID.PixelWidth, t.width ?? 640), uint(ID.PixelHeight, t.height ?? 480)),
    );
  }
  return element(
    ID.TrackEntry,
    ...common,
    element(ID.CodecPrivate, opusHead()),
    uint(ID.CodecDelay, 6_500_000),
    uint(ID.SeekPreRoll, 80_000_000),
    element(ID.Audio, float64(ID.SamplingFrequency, 48000), uint(ID.Channels, 2)),
  );
}

/** The Opus identification header (RFC 7845 §5.1) for WebRTC's 48 kHz stereo Opus, mapping family 0. */
function opusHead(): Buffer {
  const b = Buffer.alloc(19);
  b.write('OpusHead', 0, 'ascii');
  b[8] = 1; // version
  b[9] = 2; // channels
  b.writeUInt16LE(312, 10); // pre-skip (6.5 ms at 48 kHz), as CodecDelay says
  b.writeUInt32LE(48000, 12);
  b.writeInt16LE(0, 16); // output gain
  b[18] = 0; // mapping family
  return b;
}

/** Width and height of a VP8 keyframe (RFC 6386 §9.1), or undefined if `frame` is not one. */
export function vp8KeyframeSize(frame: Buffer): { width: number; height: number } | undefined {
  if (frame.length < 10 || (frame[0]! & 1) !== 0) return undefined;
  if (frame[3] !== 0x9d || frame[4] !== 0x01 || frame[5] !== 0x2a) return undefined;
  return { width: frame.readUInt16LE(6) & 0x3fff, height: frame.readUInt16LE(8) & 0x3fff };
}
