/**
 * The lecture's stage: the screen share as large as the view allows with the camera as a picture-in-picture
 * inset over it (which the user may drag anywhere in the view, or move with the arrow keys), else the camera
 * alone. For a viewer these are the server's down streams; for the presenter, the local preview. Streams with
 * no place on the stage (a microphone alone) still play through hidden <audio> elements. Under the view, a bar
 * holds the controls (so that they never cover the slide), and stays with the view in full screen.
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
  /** The bar under the view, for the viewer's and the HLS controls. */
  readonly bar: HTMLElement;
  private readonly view: HTMLElement;
  private readonly main = h('div', { class: 'main-video' });
  private readonly side = h('div', { class: 'side-video' });
  /** Where the user moved the inset, as fractions of the free room of the view (undefined: its corner). */
  private insetAt: { x: number; y: number } | undefined;

  private readonly hidden = h('div', { class: 'hidden-media', hidden: true });
  private readonly empty: HTMLParagraphElement;
  readonly unmute: HTMLButtonElement;
  private readonly elements = new Map<string, HTMLMediaElement>();
  private hlsVideo: HTMLVideoElement | undefined;

  constructor(private readonly t: Strings) {
    this.empty = h('p', { class: 'empty' }, t.nothingShown);
    this.unmute = h('button', { type: 'button', class: 'unmute', hidden: true }, t.clickToUnmute);
    this.unmute.addEventListener('click', () => this.unmuteAll());
    this.side.tabIndex = 0;
    this.side.setAttribute('role', 'group');
    this.side.setAttribute('aria-label', t.insetHint);
    this.view = h('div', { class: 'stage-view' }, this.main, this.side, this.empty);
    this.bar = h('div', { class: 'stage-bar' }, this.unmute);
    this.el = h('section', { class: 'stage', 'aria-label': t.stage }, this.view, this.bar, this.hidden);
    this.makeMovable();
  }

  /** What the view says while nothing plays: nobody presents yet, the lecture has ended, or the connection is back soon. */
  setState(state: 'waiting' | 'ended' | 'reconnecting'): void {
    this.empty.textContent = { waiting: this.t.nothingShown, ended: this.t.lectureEnded, reconnecting: this.t.stageReconnecting }[state];
    this.el.classList.toggle('ended', state === 'ended');
  }

  /** The inset follows a drag (mouse, touch or pen) and the arrow keys, and stays inside the view. */
  private makeMovable(): void {
    let grab: { dx: number; dy: number; id: number } | undefined;
    this.side.addEventListener('pointerdown', (e) => {
      const box = this.side.getBoundingClientRect();
      grab = { dx: e.clientX - box.left, dy: e.clientY - box.top, id: e.pointerId };
      this.side.setPointerCapture(e.pointerId);
      e.preventDefault();
    });
    this.side.addEventListener('pointermove', (e) => {
      if (!grab || e.pointerId !== grab.id) return;
      const view = this.view.getBoundingClientRect();
      this.moveInset(e.clientX - grab.dx - view.left, e.clientY - grab.dy - view.top);
    });
    const drop = (e: PointerEvent) => {
      if (grab?.id === e.pointerId) grab = undefined;
    };
    this.side.addEventListener('pointerup', drop);
    this.side.addEventListener('pointercancel', drop);
    this.side.addEventListener('keydown', (e) => {
      const step = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[e.key];
      if (!step) return;
      e.preventDefault();
      const view = this.view.getBoundingClientRect();
      const box = this.side.getBoundingClientRect();
      this.moveInset(box.left - view.left + step[0]! * 24, box.top - view.top + step[1]! * 24);
    });
    new ResizeObserver(() => this.placeInset()).observe(this.view);
  }

  /** Puts the inset's top left corner at (left, top) of the view, kept inside it. */
  private moveInset(left: number, top: number): void {
    const roomX = this.view.clientWidth - this.side.offsetWidth;
    const roomY = this.view.clientHeight - this.side.offsetHeight;
    this.insetAt = { x: roomX > 0 ? Math.min(1, Math.max(0, left / roomX)) : 1, y: roomY > 0 ? Math.min(1, Math.max(0, top / roomY)) : 1 };
    this.placeInset();
  }

  private placeInset(): void {
    if (!this.insetAt) return;
    const roomX = Math.max(0, this.view.clientWidth - this.side.offsetWidth);
    const roomY = Math.max(0, this.view.clientHeight - this.side.offsetHeight);
    this.side.style.left = `${Math.round(this.insetAt.x * roomX)}px`;
    this.side.style.top = `${Math.round(this.insetAt.y * roomY)}px`;
    this.side.style.right = this.side.style.bottom = 'auto';
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
    this.side.hidden = !sideItem || !!this.hlsVideo;
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
    this.main.hidden = !!video;
    this.side.hidden = !!video || !this.side.firstChild;
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

  /** Nothing plays and the lecture is not over (a new join). */
  reset(): void {
    this.clear();
    this.setState('waiting');
  }
}
