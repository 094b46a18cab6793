/**
 * Audio and video of a recording start at the same instant of the file. The file's zero is the earlier of
 * the tracks' first frames on their shared (sender-report) timeline; the track that starts later is padded
 * back to zero rather than the other one cut: a lead-in of audio is speech that must not be lost, and a lead-in
 * of video is a picture that costs nothing to keep. The later track gets:
 * - video: its first keyframe, once more at zero (the first picture stands still until the real one's time);
 * - audio: Opus silence, a 20 ms frame every 20 ms from zero to its first frame.
 * Both tracks' first blocks are then at time 0, and nothing that arrived is dropped or moved.
 */

/** One 20 ms Opus frame of silence (TOC: CELT-only, fullband, 20 ms, mono, one frame; stereo decoders take it). */
export const OPUS_SILENCE_20MS = Buffer.from([0xf8, 0xff, 0xfe]);
export const OPUS_FRAME_MS = 20;

export interface QueuedFrame {
  frame: { data: Buffer; keyframe: boolean };
  timeMs: number | undefined;
}

/**
 * Pads the head of each queue so that every non-empty one starts at the earliest first time (0 when times are
 * already relative to the file's zero). Frames are added with their time set; `kind` says how to pad.
 */
export function padToCommonStart<F extends QueuedFrame>(
  lanes: { kind: 'audio' | 'video'; queue: F[] }[],
  synth: (template: F, data: Buffer, keyframe: boolean, timeMs: number) => F,
): void {
  const live = lanes.filter((l) => l.queue.length > 0 && l.queue[0]!.timeMs !== undefined);
  if (live.length < 2) return;
  const zero = Math.min(...live.map((l) => l.queue[0]!.timeMs!));
  for (const lane of live) {
    const first = lane.queue[0]!;
    const lead = first.timeMs! - zero;
    if (lead < 1) continue;
    if (lane.kind === 'video') {
      if (first.frame.keyframe) lane.queue.unshift(synth(first, first.frame.data, true, zero));
      continue;
    }
    const pad: F[] = [];
    for (let t = zero; t <= first.timeMs! - OPUS_FRAME_MS / 2; t += OPUS_FRAME_MS) pad.push(synth(first, OPUS_SILENCE_20MS, true, t));
    lane.queue.unshift(...pad);
  }
}
