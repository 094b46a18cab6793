/** A tiny element builder: h('button', {type: 'button'}, 'Send'). */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | boolean> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false) continue;
    el.setAttribute(k, v === true ? '' : v);
  }
  el.append(...children);
  return el;
}

/** A <video> for a MediaStream: autoplay and playsinline, so iOS plays it in the page. */
export function videoFor(stream: MediaStream, muted: boolean, label: string): HTMLVideoElement {
  const v = h('video', { autoplay: true, playsinline: true, 'aria-label': label });
  v.muted = muted;
  v.srcObject = stream;
  return v;
}
