/**
 * The group page's link to `/recordings/<g>/`, shown to users who hold `record` in the group, or to every
 * member where the group says `membersSeeRecordings` (the server checks again: the page asks for the group
 * password with HTTP Basic). Opens in a new tab so the lecture
 * goes on. main.ts calls update() whenever the join state or our permissions change.
 */
import { h } from './dom.js';
import type { Strings } from './strings.js';

export function recordingsHref(group: string): string {
  return `/recordings/${group.split('/').filter(Boolean).map(encodeURIComponent).join('/')}/`;
}

export class RecordingsLink {
  readonly el: HTMLAnchorElement;

  constructor(
    t: Strings,
    group: string,
    private readonly conn: { readonly permissions: readonly string[]; readonly status: Record<string, unknown> },
  ) {
    this.el = h('a', { class: 'recordings-link', href: recordingsHref(group), target: '_blank', rel: 'noopener', hidden: true }, t.recordingsLink);
  }

  update(): void {
    this.el.hidden = !this.conn.permissions.includes('record') && this.conn.status.membersSeeRecordings !== true;
  }
}
