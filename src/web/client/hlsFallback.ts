/**
 * The HLS fallback of the lecture view. A viewer whose WebRTC does not work — a down stream exists but none
 * has delivered media (a track unmuted) within 5 s, or every one's ICE failed — switches to the group's live
 * HLS stream (`/group/<g>/.hls/index.m3u8`) through hls.js, loaded on first use. A button switches either
 * way by hand (after which the automatic switch stays off). In HLS mode the stage shows "HLS mode" and how
 * far behind live the player is (hls.js's `latency`).
 */
import { h } from './dom.js';
import type { Credentials, ServerConnection } from './protocol.js';
import type { Stage } from './stage.js';
import type { Strings } from './strings.js';

/** The part of hls.js we use (the module is imported lazily). */
interface HlsPlayer {
  loadSource(url: string): void;
  attachMedia(el: HTMLMediaElement): void;
  destroy(): void;
  on(event: string, cb: (event: string, data: { fatal?: boolean; details?: string }) => void): void;
  readonly latency: number;
}

export const FALLBACK_AFTER_MS = 5000;
const RETRY_MS = 2000;

function basic(user: string, password: string): string {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return `Basic ${btoa(bin)}`;
}

export class HlsFallback {
  readonly button: HTMLButtonElement;
  readonly indicator: HTMLElement;
  readonly video: HTMLVideoElement;
  mode: 'webrtc' | 'hls' = 'webrtc';
  /** The user chose a mode by hand: no automatic switch any more. */
  private manual = false;
  private waitingSince: number | undefined;
  private player: HlsPlayer | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private loading = 0;

  constructor(
    private readonly t: Strings,
    private readonly group: string,
    private readonly conn: ServerConnection,
    private readonly stage: Stage,
    private readonly creds: () => Credentials | undefined,
    private readonly notice: (text: string) => void,
  ) {
    this.button = h('button', { type: 'button', class: 'hls-switch', 'aria-pressed': 'false' }, t.switchToHls);
    this.indicator = h('p', { class: 'hls-indicator', role: 'status', 'aria-live': 'polite', hidden: true });
    this.video = h('video', { class: 'hls-video', controls: true, playsinline: true, autoplay: true, 'aria-label': t.hlsMode });
    this.button.addEventListener('click', () => {
      this.manual = true;
      if (this.mode === 'hls') this.toWebrtc();
      else void this.toHls();
    });
  }

  /** Joined: watch the down streams once a second. */
  start(): void {
    this.timer ??= setInterval(() => this.check(), 1000);
  }

  /** Left the group (or entered a meeting): back to WebRTC, forget everything. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.manual = false;
    this.waitingSince = undefined;
    this.toWebrtc();
  }

  /** Called when the streams change, and every second. */
  check(): void {
    if (this.mode === 'hls') return this.showLatency();
    if (this.manual || this.conn.permissions.includes('present')) return;
    const streams = [...this.conn.down.values()].filter((s) => !s.closed);
    if (streams.length === 0) {
      this.waitingSince = undefined;
      return;
    }
    const flowing = streams.some((s) => s.stream.getTracks().some((tr) => !tr.muted && tr.readyState === 'live'));
    if (flowing) {
      this.waitingSince = undefined;
      return;
    }
    const failed = streams.every((s) => s.pc.iceConnectionState === 'failed');
    this.waitingSince ??= Date.now();
    if (failed || Date.now() - this.waitingSince >= FALLBACK_AFTER_MS) {
      this.notice(this.t.hlsFallback);
      void this.toHls();
    }
  }

  private url(): string {
    const path = `/group/${this.group.split('/').map(encodeURIComponent).join('/')}/.hls/index.m3u8`;
    const token = this.creds()?.token;
    return token ? `${path}?token=${encodeURIComponent(token)}` : path;
  }

  async toHls(): Promise<void> {
    this.mode = 'hls';
    this.button.textContent = this.t.switchToWebrtc;
    this.button.setAttribute('aria-pressed', 'true');
    this.indicator.hidden = false;
    this.indicator.textContent = this.t.hlsMode;
    this.stage.setHlsVideo(this.video);
    await this.load();
  }

  private async load(): Promise<void> {
    const attempt = ++this.loading;
    this.player?.destroy();
    this.player = undefined;
    const creds = this.creds();
    const auth = creds?.username !== undefined && creds.password !== undefined && !creds.token ? basic(creds.username, creds.password) : undefined;
    const { default: Hls } = await import('hls.js');
    if (attempt !== this.loading || this.mode !== 'hls') return;
    if (!Hls.isSupported()) {
      if (this.video.canPlayType('application/vnd.apple.mpegurl')) {
        this.video.src = this.url();
        this.video.play().catch(() => undefined);
      } else this.notice(this.t.hlsUnsupported);
      return;
    }
    const hls = new Hls({
      // 1 s behind the live edge (1 s segments). A player that falls behind (stalls on a busy machine) catches
      // up by playing up to 1.5x faster, and jumps back to the live edge past 3 s (bench/hls.ts measures it).
      liveSyncDuration: 1,
      liveMaxLatencyDuration: 3,
      maxLiveSyncPlaybackRate: 1.5,
      ...(auth ? { xhrSetup: (xhr: XMLHttpRequest) => xhr.setRequestHeader('Authorization', auth) } : {}),
    });
    this.player = hls as unknown as HlsPlayer;
    hls.on(Hls.Events.ERROR, (_e, data) => {
      if (!data.fatal || attempt !== this.loading) return;
      // Typically a 404 before the first segment: try again shortly.
      this.indicator.textContent = `${this.t.hlsMode} · ${this.t.hlsWaiting}`;
      this.retry = setTimeout(() => void (this.mode === 'hls' && attempt === this.loading && this.load()), RETRY_MS);
    });
    hls.on(Hls.Events.MANIFEST_PARSED, () => {
      this.video.play().catch(() => {
        this.video.muted = true;
        this.video.play().catch(() => undefined);
      });
    });
    hls.loadSource(this.url());
    hls.attachMedia(this.video);
  }

  private showLatency(): void {
    const latency = this.player?.latency;
    this.indicator.textContent =
      typeof latency === 'number' && Number.isFinite(latency) && latency > 0 ? `${this.t.hlsMode} · ${this.t.behindLive(latency)}` : this.t.hlsMode;
  }

  toWebrtc(): void {
    this.loading++;
    if (this.retry) clearTimeout(this.retry);
    this.player?.destroy();
    this.player = undefined;
    this.video.removeAttribute('src');
    this.video.load();
    this.mode = 'webrtc';
    this.waitingSince = undefined;
    this.button.textContent = this.t.switchToHls;
    this.button.setAttribute('aria-pressed', 'false');
    this.indicator.hidden = true;
    this.stage.setHlsVideo(undefined);
  }
}
