import { diff32 } from '../../forward/seq.js';
import type { UpTrack } from '../../forward/types.js';
import type { Logger } from '../../log.js';
import { commonStart, type StartCut } from './commonStart.js';
import { TrackRecorder, type Frame } from './TrackRecorder.js';
import { vp8KeyframeSize, type RecordedCodec, type WebmWriter, type WriterTrack } from './WebmWriter.js';

/** What a StreamRecorder needs of an up stream (UpConnection satisfies it). */
export interface RecordableStream {
  readonly id: string;
  readonly label: string;
  readonly username: string;
  tracks(): UpTrack[];
}

export interface StreamRecorderOptions {
  stream: RecordableStream;
  /** Creates the file once the tracks are known (the first video keyframe gives its size). */
  createWriter(tracks: WriterTrack[]): Promise<WebmWriter>;
  log: Logger;
  now?: () => number;
}

export interface RecordedFile {
  path: string;
  durationMs: number;
}

/** Before writing, wait this long at most for a sender report on every track (they give lip sync). */
const SYNC_WAIT_MS = 2000;
/** Galène: ask again for a keyframe when none came for this long. */
const KEYFRAME_RETRY_MS = 4000;
/**
 * How long the file waits at most for its tracks to start together (commonStart): for a keyframe after the
 * audio's start, asked for at once and again every 4 s (a browser sends one within a round trip). Past this
 * (an encoder that ignores keyframe requests and whose next keyframes were lost), it starts without.
 */
const START_WAIT_MS = 10_000;
/** Consecutive frames this far apart on the RTP clock come from a restarted clock, not from a pause. */
const MAX_TIMESTAMP_JUMP_S = 10;
/** A track whose last frame is older than this no longer holds back the other when interleaving. */
const QUIET_MS = 300;

interface Lane {
  index: number;
  track: UpTrack;
  recorder: TrackRecorder;
  writerTrack: WriterTrack;
  /** Frames waiting to be written, in their track's order. */
  queue: { frame: Frame; timeMs: number | undefined }[];
  anchor: { timestamp: number; localMs: number; ssrc: number } | undefined;
  lastTimestamp: number;
  /** The track's timestamps unwrapped, relative to the anchor. */
  ticks: number;
  lastArrivalMs: number;
}

/**
 * Records one up stream (Galène: one file per stream): its first Opus track and its first VP8/VP9 track (the
 * high simulcast layer), each through a TrackRecorder attached like any viewer. Frames are placed on one
 * timeline from the publisher's RTCP sender reports (arrival times when there are none), interleaved in time
 * order and written to a WebmWriter. The file starts with a video keyframe, which is asked for at once and
 * every 4 s until the file starts, and its audio starts with it: the earlier track's lead-in is trimmed
 * (commonStart.ts).
 */
export class StreamRecorder {
  private readonly lanes: Lane[] = [];
  private readonly now: () => number;
  private readonly log: Logger;
  private writer: WebmWriter | undefined;
  private opening: Promise<void> | undefined;
  private failed = false;
  private firstArrivalMs: number | undefined;
  /** Where the file's zero is on the local clock, once the tracks' timeline is set. */
  private zeroMs: number | undefined;
  /** When the file first waited for its tracks to start together. */
  private startWaitMs: number | undefined;
  /** Publisher NTP minus local time, from the first sender report used (shared by all tracks of the stream). */
  private ntpOffsetMs: number | undefined;
  private keyframeTimer: NodeJS.Timeout | undefined;
  private closing: Promise<RecordedFile | undefined> | undefined;

  constructor(private readonly opts: StreamRecorderOptions) {
    this.now = opts.now ?? Date.now;
    this.log = opts.log.child({ recording: opts.stream.id });
    const tracks = opts.stream.tracks();
    const video = tracks.find((t) => t.kind === 'video' && (t.codec.name === 'vp8' || t.codec.name === 'vp9'));
    const audio = tracks.find((t) => t.kind === 'audio' && t.codec.name === 'opus');
    const unrecorded = tracks.filter((t) => t.kind === 'video' && !video && t.codec.name !== 'vp8');
    if (unrecorded.length > 0) this.log.warn({ codec: unrecorded[0]!.codec.name }, 'this video codec is not recorded');
    for (const track of [video, audio]) {
      if (!track) continue;
      const lane: Lane = {
        index: this.lanes.length,
        track,
        recorder: new TrackRecorder(track, (f) => this.onFrame(lane, f), this.now),
        writerTrack: { kind: track.kind, codec: track.codec.name as RecordedCodec },
        queue: [],
        anchor: undefined,
        lastTimestamp: 0,
        ticks: 0,
        lastArrivalMs: 0,
      };
      this.lanes.push(lane);
      track.addDown(lane.recorder);
    }
    if (video) {
      video.requestKeyframe();
      this.keyframeTimer = setInterval(() => video.requestKeyframe(), KEYFRAME_RETRY_MS);
      this.keyframeTimer.unref();
    }
  }

  get recording(): boolean {
    return this.lanes.length > 0;
  }

  /** Stops recording: detaches from the tracks, writes what is held, closes the file (undefined if none). */
  close(): Promise<RecordedFile | undefined> {
    return (this.closing ??= (async () => {
      clearInterval(this.keyframeTimer);
      for (const lane of this.lanes) {
        lane.track.removeDown(lane.recorder);
        lane.recorder.flush();
      }
      if (this.lanes.some((l) => l.queue.length > 0)) this.start(true);
      await this.opening;
      const writer = this.writer;
      if (!writer) return undefined;
      this.pump(true);
      try {
        const durationMs = await writer.close();
        return { path: writer.path, durationMs };
      } catch (e) {
        this.log.error({ err: e }, 'recording could not be finished');
        return undefined;
      }
    })());
  }

  private onFrame(lane: Lane, frame: Frame): void {
    if (this.failed || this.closing) return;
    this.firstArrivalMs ??= frame.arrivalMs;
    lane.lastArrivalMs = frame.arrivalMs;
    lane.queue.push({ frame, timeMs: this.zeroMs === undefined ? undefined : this.timeOf(lane, frame) });
    if (this.opening) this.pump(false);
    else this.start(false);
  }

  /**
   * Opens the file once there is a keyframe and sender reports (or waiting for them took too long), and its
   * tracks can start together (or waiting for that took too long).
   */
  private start(force: boolean): void {
    if (this.opening) return;
    const video = this.lanes.find((l) => l.writerTrack.kind === 'video');
    const audio = this.lanes.find((l) => l.writerTrack.kind === 'audio');
    if (this.zeroMs === undefined) {
      const haveKeyframe = !video || video.queue.some((q) => q.frame.keyframe);
      const synced = this.lanes.every((l) => l.track.senderClock() !== undefined);
      const waited = this.now() - (this.firstArrivalMs ?? this.now()) >= SYNC_WAIT_MS;
      if (!force && !(haveKeyframe && (synced || waited))) return;
      if (video && !haveKeyframe) video.queue = [];
      const live = this.lanes.filter((l) => l.queue.length > 0);
      if (live.length === 0) return;
      for (const lane of live) this.anchor(lane, lane.queue[0]!.frame);
      this.zeroMs = Math.min(...live.map((l) => l.anchor!.localMs));
      for (const lane of live) for (const q of lane.queue) q.timeMs = this.timeOf(lane, q.frame);
    }
    const frames = (l: Lane | undefined) => (l?.queue ?? []).map((q) => ({ timeMs: q.timeMs!, keyframe: q.frame.keyframe }));
    let cut: StartCut = commonStart(frames(video), frames(audio), force);
    if ('wait' in cut) {
      if (this.startWaitMs === undefined) {
        this.startWaitMs = this.now();
        if (cut.wait === 'keyframe') video!.track.requestKeyframe();
      }
      if (this.now() - this.startWaitMs < START_WAIT_MS) return;
      this.log.warn({ waiting: cut.wait }, 'audio and video do not start together in this recording');
      cut = commonStart(frames(video), frames(audio), true) as Exclude<StartCut, { wait: unknown }>;
    }
    clearInterval(this.keyframeTimer);
    // How much of each track's lead-in is trimmed (ms), for the log.
    const trimmedMs = (l: Lane | undefined, n: number) => (l && n > 0 ? Math.round(cut.zeroMs - l.queue[0]!.timeMs!) : 0);
    const trimmed = { video: trimmedMs(video, cut.video), audio: trimmedMs(audio, cut.audio) };
    video?.queue.splice(0, cut.video);
    audio?.queue.splice(0, cut.audio);
    this.zeroMs += cut.zeroMs;
    for (const lane of this.lanes) for (const q of lane.queue) q.timeMs = q.timeMs! - cut.zeroMs;
    const key = video?.queue[0]?.frame;
    if (video && key && video.writerTrack.width === undefined && video.writerTrack.codec === 'vp8') {
      Object.assign(video.writerTrack, vp8KeyframeSize(key.data));
    }
    const tracks = this.lanes.map((l) => l.writerTrack);
    this.opening = this.opts.createWriter(tracks).then(
      (w) => {
        this.writer = w;
        this.log.info({ path: w.path, trimmedMs: trimmed }, 'recording');
        this.pump(false);
      },
      (e: unknown) => {
        this.failed = true;
        this.log.error({ err: e }, 'cannot create the recording file');
        for (const l of this.lanes) l.queue = [];
      },
    );
  }

  /** Where on the local clock a track's timeline starts: from its sender report if any, else arrival. */
  private anchor(lane: Lane, frame: Frame): void {
    const sr = lane.track.senderClock();
    let localMs = frame.arrivalMs;
    if (sr) {
      this.ntpOffsetMs ??= sr.ntpMs - sr.receivedAtMs;
      localMs = sr.ntpMs + (diff32(frame.timestamp, sr.rtpTimestamp) * 1000) / lane.track.codec.clockRate - this.ntpOffsetMs;
    }
    lane.anchor = { timestamp: frame.timestamp, localMs, ssrc: frame.ssrc };
    lane.lastTimestamp = frame.timestamp;
    lane.ticks = 0;
  }

  /**
   * ms from the start of the file; frames of a track that starts later, or of a new source or a restarted
   * clock on the same track (an encoder restart), get their own anchor.
   */
  private timeOf(lane: Lane, frame: Frame): number {
    const jump = Math.abs(diff32(frame.timestamp, lane.lastTimestamp)) > lane.track.codec.clockRate * MAX_TIMESTAMP_JUMP_S;
    if (!lane.anchor || lane.anchor.ssrc !== frame.ssrc || jump) this.anchor(lane, frame);
    lane.ticks += diff32(frame.timestamp, lane.lastTimestamp);
    lane.lastTimestamp = frame.timestamp;
    return lane.anchor!.localMs + (lane.ticks * 1000) / lane.track.codec.clockRate - this.zeroMs!;
  }

  /** Writes queued frames in time order, holding a frame while another live track may still send earlier ones. */
  private pump(all: boolean): void {
    const w = this.writer;
    if (!w) return;
    for (;;) {
      let next: Lane | undefined;
      for (const l of this.lanes) {
        if (l.queue.length > 0 && (!next || l.queue[0]!.timeMs! < next.queue[0]!.timeMs!)) next = l;
      }
      if (!next) return;
      const waitFor = this.lanes.some(
        (l) => l !== next && l.queue.length === 0 && this.now() - l.lastArrivalMs < QUIET_MS,
      );
      if (waitFor && !all) return;
      const { frame, timeMs } = next.queue.shift()!;
      w.write(next.index, timeMs!, frame.keyframe, frame.data);
    }
  }
}
