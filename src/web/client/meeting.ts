/**
 * The meeting view: one tile per participant's stream (our own camera first, muted), in a grid, with the
 * active speaker highlighted. The speaker is the loudest audio over the last poll, read from getStats()
 * (`audioLevel` of inbound-rtp for others, of media-source for our own microphone).
 */
import { h, videoFor } from './dom.js';
import type { DownStream, UpStream } from './stream.js';
import type { Strings } from './strings.js';

/** Below this audioLevel (0..1) nobody is speaking. */
const SPEAKING_LEVEL = 0.02;
const POLL_MS = 400;

interface Tile {
  el: HTMLElement;
  media: HTMLVideoElement;
  pc: RTCPeerConnection | undefined;
  local: boolean;
  username: string;
}

export interface MeetingItem {
  key: string;
  stream: MediaStream;
  username: string;
  local: boolean;
  pc: RTCPeerConnection | undefined;
}

export class MeetingGrid {
  readonly el: HTMLElement;
  /** Says who is speaking when that changes (a screen reader announces it; visually hidden). */
  readonly announcer: HTMLElement;
  private readonly tiles = new Map<string, Tile>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private polling = false;
  speaker: string | undefined;

  constructor(private readonly t: Strings) {
    this.el = h('section', { class: 'meeting-grid', 'aria-label': t.meeting, hidden: true });
    this.announcer = h('p', { class: 'visually-hidden speaker-announce', 'aria-live': 'polite' });
  }

  /** Lays out our own camera (if any) and every remote stream. */
  render(local: UpStream | undefined, localStream: MediaStream | undefined, me: string, remote: DownStream[]): void {
    const items: MeetingItem[] = [];
    if (localStream && localStream.getVideoTracks().length > 0) {
      items.push({ key: 'local', stream: localStream, username: me, local: true, pc: local?.pc });
    }
    for (const s of remote) {
      if (s.closed || s.stream.getTracks().length === 0) continue;
      items.push({ key: s.id, stream: s.stream, username: s.username, local: false, pc: s.pc });
    }
    const keep = new Set(items.map((i) => i.key));
    for (const [key, tile] of this.tiles) {
      if (keep.has(key)) continue;
      tile.media.srcObject = null;
      tile.el.remove();
      this.tiles.delete(key);
    }
    const els = items.map((item) => this.tile(item).el);
    const same = els.length === this.el.children.length && els.every((el, i) => this.el.children[i] === el);
    if (!same) this.el.replaceChildren(...els);
    this.el.dataset.count = String(els.length);
  }

  show(on: boolean): void {
    this.el.hidden = !on;
    if (on && !this.timer) this.timer = setInterval(() => void this.poll(), POLL_MS);
    if (!on) {
      if (this.timer) clearInterval(this.timer);
      this.timer = undefined;
      this.speaker = undefined;
      this.announcer.textContent = '';
    }
  }

  clear(): void {
    this.render(undefined, undefined, '', []);
    this.show(false);
  }

  private tile(item: MeetingItem): Tile {
    let tile = this.tiles.get(item.key);
    if (tile) {
      if (tile.media.srcObject !== item.stream) tile.media.srcObject = item.stream;
      tile.pc = item.pc;
      tile.el.classList.toggle('audio-only', item.stream.getVideoTracks().length === 0);
      return tile;
    }
    const name = item.local ? this.t.you : item.username || '?';
    // Always a <video>: it plays a stream's audio too, and a stream's video track may arrive after its audio.
    const media = videoFor(item.stream, item.local, item.local ? this.t.preview : this.t.mainVideo(item.username));
    if (item.local) media.classList.add('local');
    const el = h(
      'figure',
      { class: 'tile', 'data-role': item.local ? 'local-tile' : 'tile', 'data-username': item.username },
      media,
      h('figcaption', {}, item.local ? `${item.username} ${this.t.you}` : name),
    );
    el.classList.toggle('audio-only', item.stream.getVideoTracks().length === 0);
    tile = { el, media, pc: item.pc, local: item.local, username: item.username || '?' };
    this.tiles.set(item.key, tile);
    if (!item.local) media.play().catch(() => undefined);
    return tile;
  }

  /** Reads every tile's audio level and highlights the loudest one. */
  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      let best: string | undefined;
      let bestLevel = SPEAKING_LEVEL;
      for (const [key, tile] of this.tiles) {
        const level = await audioLevel(tile.pc, tile.local);
        if (level > bestLevel) {
          bestLevel = level;
          best = key;
        }
      }
      if (best !== undefined && best !== this.speaker) {
        const who = this.tiles.get(best);
        if (who) this.announcer.textContent = this.t.speaking(who.username);
      }
      this.speaker = best;
      for (const [key, tile] of this.tiles) {
        const speaking = key === best;
        tile.el.classList.toggle('speaking', speaking);
        if (speaking) tile.el.dataset.speaking = 'true';
        else delete tile.el.dataset.speaking;
      }
    } finally {
      this.polling = false;
    }
  }
}

async function audioLevel(pc: RTCPeerConnection | undefined, local: boolean): Promise<number> {
  if (!pc || pc.connectionState === 'closed') return 0;
  try {
    const stats = await pc.getStats();
    let level = 0;
    stats.forEach((r: { type: string; kind?: string; audioLevel?: number }) => {
      const wanted = local ? r.type === 'media-source' : r.type === 'inbound-rtp';
      if (wanted && r.kind === 'audio' && typeof r.audioLevel === 'number') level = Math.max(level, r.audioLevel);
    });
    return level;
  } catch {
    return 0;
  }
}
