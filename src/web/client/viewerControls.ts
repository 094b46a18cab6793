/**
 * The viewer's controls: full screen for the stage (screen share and speaker together), and a low-bandwidth
 * mode that asks the server for the low layer of each video (`video-low` in Galène's `request`).
 */
import { h } from './dom.js';
import type { ServerConnection } from './protocol.js';
import type { Strings } from './strings.js';

export class ViewerControls {
  readonly el: HTMLElement;
  readonly fullScreen: HTMLButtonElement;
  readonly lowBandwidth: HTMLButtonElement;

  constructor(
    private readonly t: Strings,
    conn: ServerConnection,
    target: HTMLElement,
    onError: (text: string) => void,
  ) {
    this.fullScreen = h('button', { type: 'button' }, t.fullScreen);
    this.lowBandwidth = h('button', { type: 'button', 'aria-pressed': 'false' }, t.lowBandwidth);
    this.el = h('div', { class: 'viewer-controls', role: 'group', 'aria-label': t.viewing }, this.fullScreen, this.lowBandwidth);
    this.fullScreen.hidden = !document.fullscreenEnabled;
    this.fullScreen.addEventListener('click', () => {
      const done = document.fullscreenElement ? document.exitFullscreen() : target.requestFullscreen();
      done.catch((err: unknown) => onError(t.deviceError(t.fullScreen, err instanceof Error ? err.message : String(err))));
    });
    document.addEventListener('fullscreenchange', () => {
      this.fullScreen.textContent = document.fullscreenElement ? t.exitFullScreen : t.fullScreen;
    });
    this.lowBandwidth.addEventListener('click', () => {
      conn.setLowBandwidth(!conn.isLowBandwidth);
      this.lowBandwidth.setAttribute('aria-pressed', String(conn.isLowBandwidth));
    });
  }

  /** Full screen is for what others send: hidden in a meeting's grid, where the tiles are the view. */
  show(on: boolean): void {
    this.el.hidden = !on;
    this.fullScreen.textContent = document.fullscreenElement ? this.t.exitFullScreen : this.t.fullScreen;
  }
}
