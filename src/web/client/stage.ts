/**
 * The lecture's stage: the screen share large with the camera beside it, else the camera alone. For a viewer
 * these are the server's down streams; for the presenter, the local preview. Streams with no place on the
 * stage (a microphone alone) still play through hidden <audio> elements.
 */
import { h, videoFor } from './dom.js';
import type { DownStream } from './stream.js';
import type { Strings } from './strings.js';

export interface StageItem {
  key: string;
  stream: MediaStream;
  label: string;
  username: string;
  local: boolean;
}

export class Stage {
  readonly el: HTMLElement;
  private readonly main = h('div', { class: 'main-video' });
  private readonly side = h('div', { class: 'side-video' });
  private readonly hidden = h('div', { class: 'hidden-media', hidden: true });
  private readonly empty: HTMLParagraphElement;
  readonly unmute: HTMLButtonElement;
  private readonly elements = new Map<string, HTMLMediaElement>();
  private hlsVideo: HTMLVideoElement | undefined;

  constructor(private readonly t: Strings) {
    this.empty = h('p', { class: 'empty' }, t.nothingShown);
    this.unmute = h('button', { type: 'button', class: 'unmute', hidden: true }, t.clickToUnmute);
    this.unmute.addEventListener('click', () => this.unmuteAll());
    this.el = h('section', { class: 'stage', 'aria-label': t.stage }, this.unmute, this.main, this.side, this.empty, this.hidden);
  }

  /** Lays out the local preview (presenter) or the remote streams (viewer). */
  render(local: StageItem[], remote: DownStream[]): void {
    const items: StageItem[] = [
      ...local,
      ...remote.map((s) => ({ key: s.id, stream: s.stream, label: s.label, username: s.username, local: false })),
    ];
    const withVideo = items.filter((i) => i.stream.getVideoTracks().length > 0);
    const screen = withVideo.find((i) => i.label === 'screenshare');
    const camera = withVideo.find((i) => i !== screen);
    const mainItem = screen ?? camera;
    const sideItem = screen ? camera : undefined;
    const keep = new Set<string>();
    const place = (item: StageItem | undefined, slot: HTMLElement, role: string) => {
      if (!item) {
        slot.replaceChildren();
        return;
      }
      const el = this.element(item, true);
      keep.add(this.keyOf(item, true));
      el.dataset.role = role;
      el.setAttribute('aria-label', role === 'main' ? this.t.mainVideo(item.username) : this.t.sideVideo(item.username));
      if (slot.firstChild !== el) slot.replaceChildren(el);
    };
    place(mainItem, this.main, 'main');
    place(sideItem, this.side, 'side');
    const audioOnly: HTMLMediaElement[] = [];
    for (const item of items) {
      if (item === mainItem || item === sideItem || item.local) continue;
      if (item.stream.getTracks().length === 0) continue;
      const video = item.stream.getVideoTracks().length > 0;
      const el = this.element(item, video);
      el.dataset.role = 'hidden';
      keep.add(this.keyOf(item, video));
      audioOnly.push(el);
    }
    this.hidden.replaceChildren(...audioOnly);
    for (const [key, el] of this.elements) {
      if (keep.has(key)) continue;
      el.srcObject = null;
      el.remove();
      this.elements.delete(key);
    }
    this.empty.hidden = !!mainItem || !!this.hlsVideo;
    this.el.classList.toggle('with-side', !!sideItem);
  }

  private keyOf(item: StageItem, video: boolean): string {
    return `${item.key}:${video ? 'v' : 'a'}`;
  }

  private element(item: StageItem, video: boolean): HTMLMediaElement {
    const key = this.keyOf(item, video);
    let el = this.elements.get(key);
    if (el) {
      if (el.srcObject !== item.stream) el.srcObject = item.stream;
      return el;
    }
    if (video) {
      el = videoFor(item.stream, item.local, item.local ? this.t.preview : this.t.mainVideo(item.username));
      if (item.local) el.classList.add('local');
    } else {
      el = h('audio', { autoplay: true });
      el.srcObject = item.stream;
    }
    el.dataset.label = item.label;
    el.dataset.stream = item.key;
    this.elements.set(key, el);
    if (this.hlsVideo) this.applyHlsMute(el);
    if (!item.local) this.play(el);
    return el;
  }

  /** Plays with sound; when the browser blocks autoplay, plays muted and offers "Click to unmute". */
  private play(el: HTMLMediaElement): void {
    el.play().catch((err: unknown) => {
      if (!(err instanceof DOMException) || err.name !== 'NotAllowedError') return;
      el.muted = true;
      el.dataset.autoMuted = 'true';
      this.unmute.hidden = false;
      el.play().catch(() => undefined);
    });
  }

  private unmuteAll(): void {
    for (const el of this.elements.values()) {
      if (el.dataset.autoMuted !== 'true') continue;
      el.muted = false;
      delete el.dataset.autoMuted;
      el.play().catch(() => undefined);
    }
    this.unmute.hidden = true;
  }

  /** HLS mode (hlsFallback.ts): the WebRTC media is hidden and silent and `video` is shown; undefined ends it. */
  setHlsVideo(video: HTMLVideoElement | undefined): void {
    if (this.hlsVideo !== video) this.hlsVideo?.remove();
    this.hlsVideo = video;
    this.main.hidden = this.side.hidden = !!video;
    if (video) {
      this.empty.hidden = true;
      this.main.before(video);
    }
    for (const el of this.elements.values()) this.applyHlsMute(el);
  }

  private applyHlsMute(el: HTMLMediaElement): void {
    el.muted = !!this.hlsVideo || el.classList.contains('local') || el.dataset.autoMuted === 'true';
  }

  clear(): void {
    this.render([], []);
  }
}
