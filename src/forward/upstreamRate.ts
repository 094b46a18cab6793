/**
 * What the publisher is told it may send (the uplink REMB), per up track, from what its viewers can take.
 *
 * Galène's rule, with the floor and cap made explicit: the best any viewer of the track can use (a slow viewer
 * must not hold everyone down: it gets a lower simulcast layer instead), at least MIN_BITRATE (LOW_BITRATE
 * for an `l` layer and for audio), at most MAX_BITRATE. DownTracks that report nothing (the recorder, a
 * viewer before its first REMB, a viewer waiting for a layer switch) are ignored; when none reports, a
 * video track is not held back (MAX_BITRATE) and an `l` layer or audio gets LOW_BITRATE.
 */
import type { TrackKind } from './types.js';

export const MIN_BITRATE = 200_000;
export const LOW_BITRATE = 100_000;
export const MAX_BITRATE = 10_000_000;

export interface UpstreamLimits {
  min: number;
  low: number;
  max: number;
}

export const DEFAULT_LIMITS: UpstreamLimits = Object.freeze({ min: MIN_BITRATE, low: LOW_BITRATE, max: MAX_BITRATE });

/** The largest of the reported limits (undefined entries are ignored); undefined if none reported. */
export function bestViewerRate(rates: Iterable<number | undefined>): number | undefined {
  let best: number | undefined;
  for (const r of rates) {
    if (r !== undefined && Number.isFinite(r) && r > 0 && (best === undefined || r > best)) best = r;
  }
  return best;
}

/** The uplink REMB share of one up track, given the best its viewers can use. */
export function upstreamRate(kind: TrackKind, rid: string | undefined, viewersBest: number | undefined, limits: UpstreamLimits = DEFAULT_LIMITS): number {
  if (kind === 'audio') return limits.low;
  const low = rid === 'l';
  const floor = low ? limits.low : limits.min;
  const wanted = viewersBest ?? (low ? limits.low : limits.max);
  return Math.min(limits.max, Math.max(floor, wanted));
}
