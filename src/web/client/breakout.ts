/**
 * Small groups (breakouts) in a group with auto-subgroups: an op names one, and its link `<g>/<name>` goes to
 * everyone in the chat; the op lists the live ones with the `subgroups` group action, whose reply comes back as
 * a private chat from "Server" (one "name (N clients)" line each). Moving is following a link: the tab keeps
 * the credentials it joined with (sessionStorage, this tab only) for the group and its small groups, so the new
 * page joins by itself, and a small group's page has a link back to the main group.
 */
import { h } from './dom.js';
import type { ChatEntry, Credentials, ServerConnection } from './protocol.js';
import type { Strings } from './strings.js';

const CREDS_KEY = 'lectern-credentials';

/** /group/<name>/ with each path segment encoded, as an absolute URL on this origin. */
export function groupUrl(name: string): string {
  return `${window.location.origin}/group/${name.split('/').filter(Boolean).map(encodeURIComponent).join('/')}/`;
}

/** The top-level group a group belongs to ("class" for "class/team1"). */
const rootOf = (group: string) => group.split('/')[0] ?? group;

/** Remembers the credentials that worked, for this group and its small groups (this tab only). */
export function rememberCredentials(group: string, creds: Credentials): void {
  try {
    sessionStorage.setItem(CREDS_KEY, JSON.stringify({ root: rootOf(group), creds }));
  } catch {
    // Storage may be off; moving then asks for the password again.
  }
}

export function forgetCredentials(): void {
  try {
    sessionStorage.removeItem(CREDS_KEY);
  } catch {
    // ignore
  }
}

/** The credentials remembered for this group's family, if any. */
export function rememberedCredentials(group: string): Credentials | undefined {
  try {
    const saved = JSON.parse(sessionStorage.getItem(CREDS_KEY) ?? 'null') as { root?: string; creds?: Credentials } | null;
    return saved?.root === rootOf(group) ? saved.creds : undefined;
  } catch {
    return undefined;
  }
}

/** Is this chat entry the server's private reply to `subgroups`? */
export function isSubgroupsReply(e: ChatEntry): boolean {
  return !!e.dest && !e.source && e.username === 'Server' && !e.history;
}

/** Parses the reply's "name (N clients)" lines. */
export function parseSubgroups(text: string): { name: string; clients: number }[] {
  const out: { name: string; clients: number }[] = [];
  for (const line of text.split('\n')) {
    const m = /^(.+) \((\d+) clients?\)$/.exec(line.trim());
    if (m) out.push({ name: m[1]!, clients: Number(m[2]) });
  }
  return out;
}

/** The op's small-group panel, and the "back to the main group" link in a small group. */
export class BreakoutPanel {
  readonly el: HTMLElement;
  readonly back: HTMLAnchorElement | undefined;
  private readonly opTools: HTMLElement;
  private readonly live = h('ul', { class: 'breakouts', 'aria-live': 'polite' });
  private readonly input: HTMLInputElement;
  private waitingForList = false;

  constructor(
    private readonly t: Strings,
    private readonly group: string,
    private readonly conn: ServerConnection,
  ) {
    const parent = group.includes('/') ? group.slice(0, group.lastIndexOf('/')) : undefined;
    if (parent) this.back = h('a', { class: 'back-to-main', href: groupUrl(parent) }, t.backToMain(parent));
    this.input = h('input', { id: 'breakout-name', type: 'text', autocomplete: 'off' });
    const create = h('form', { class: 'breakout-create' },
      h('div', { class: 'field' }, h('label', { for: 'breakout-name' }, t.breakoutName), this.input),
      h('button', { type: 'submit' }, t.createBreakout));
    const list = h('button', { type: 'button' }, t.listBreakouts);
    this.opTools = h('div', {}, create, list, this.live);
    this.el = h('section', { class: 'small-groups', 'aria-labelledby': 'small-h', hidden: true },
      h('h2', { id: 'small-h' }, t.smallGroups), ...(this.back ? [this.back] : []), this.opTools);

    create.addEventListener('submit', (e) => {
      e.preventDefault();
      const name = this.input.value.trim().replace(/\//g, '-');
      if (!name) return;
      this.conn.sendChat(t.breakoutInvite(groupUrl(`${this.group}/${name}`)));
      this.input.value = '';
    });
    list.addEventListener('click', () => {
      this.waitingForList = true;
      this.conn.send({ type: 'groupaction', kind: 'subgroups', source: this.conn.id, username: this.conn.username });
    });
  }

  /** Shows the op tools to ops, the back link to everyone in a small group. */
  update(): void {
    const op = this.conn.permissions.includes('op');
    this.opTools.hidden = !op;
    this.el.hidden = !op && !this.back;
  }

  /** Takes the server's reply to `subgroups`; false for any other chat entry. */
  takeChat(e: ChatEntry): boolean {
    if (!this.waitingForList || !isSubgroupsReply(e)) return false;
    this.waitingForList = false;
    const groups = parseSubgroups(e.value);
    this.live.replaceChildren(
      ...(groups.length
        ? groups.map((g) => h('li', {}, h('a', { href: groupUrl(g.name) }, g.name), ` (${this.t.clients(g.clients)})`))
        : [h('li', {}, this.t.noBreakouts)]),
    );
    return true;
  }
}
