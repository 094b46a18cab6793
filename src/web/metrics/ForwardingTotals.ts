import type { DownLink } from '../../signal/MediaStreams.js';
import type { DownTrackCounters } from '../../forward/RtpDownTrack.js';
import type { UpTrackCounters } from '../../ingest/RtpUpTrack.js';
import type { UpConnection } from '../../ingest/UpConnection.js';

type UpTotals = Pick<UpTrackCounters, 'packets' | 'bytes' | 'nacksSent' | 'plisSent'>;
type DownTotals = Pick<DownTrackCounters, 'packets' | 'bytes' | 'retransmitted' | 'retransmitsDeclined' | 'nacksReceived' | 'keyframeRequests'>;

const UP_KEYS = ['packets', 'bytes', 'nacksSent', 'plisSent'] as const;
const DOWN_KEYS = ['packets', 'bytes', 'retransmitted', 'retransmitsDeclined', 'nacksReceived', 'keyframeRequests'] as const;

/**
 * Server-wide totals of the per-connection packet counters, kept monotonic as Prometheus counters must be:
 * the last values read from a connection that has since closed are added to a retired sum. (What a
 * connection counted between the last scrape and its close is not seen.)
 */
export class ForwardingTotals {
  private lastUp = new Map<UpConnection, UpTotals>();
  private lastDown = new Map<DownLink, DownTotals>();
  private readonly retiredUp: UpTotals = { packets: 0, bytes: 0, nacksSent: 0, plisSent: 0 };
  private readonly retiredDown: DownTotals = { packets: 0, bytes: 0, retransmitted: 0, retransmitsDeclined: 0, nacksReceived: 0, keyframeRequests: 0 };

  update(ups: readonly UpConnection[], downs: readonly DownLink[]): { up: UpTotals; down: DownTotals } {
    const nextUp = new Map<UpConnection, UpTotals>();
    for (const up of ups) nextUp.set(up, sum(Object.values(up.counters()), UP_KEYS));
    const nextDown = new Map<DownLink, DownTotals>();
    for (const down of downs) nextDown.set(down, sum(Object.values(down.counters()), DOWN_KEYS));
    for (const [conn, last] of this.lastUp) if (!nextUp.has(conn)) addInto(this.retiredUp, last, UP_KEYS);
    for (const [conn, last] of this.lastDown) if (!nextDown.has(conn)) addInto(this.retiredDown, last, DOWN_KEYS);
    this.lastUp = nextUp;
    this.lastDown = nextDown;
    const up = { ...this.retiredUp };
    for (const t of nextUp.values()) addInto(up, t, UP_KEYS);
    const down = { ...this.retiredDown };
    for (const t of nextDown.values()) addInto(down, t, DOWN_KEYS);
    return { up, down };
  }
}

function sum<K extends string>(items: readonly (Record<K, number> | undefined)[], keys: readonly K[]): Record<K, number> {
  const out = Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
  for (const item of items) if (item) addInto(out, item, keys);
  return out;
}

function addInto<K extends string>(into: Record<K, number>, from: Record<K, number>, keys: readonly K[]): void {
  for (const k of keys) into[k] += from[k];
}
