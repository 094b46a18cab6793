/**
 * Lectern's landing page (`/`): the public groups from /public-groups.json with their live state (locked,
 * how many people), refreshed now and then, and a box to type a group name that goes to /group/<name>/.
 */
import { h } from './dom.js';
import { chooseLanguage, pickStrings } from './strings.js';

const lang = chooseLanguage(new URL(window.location.href).searchParams.get('lang'), navigator.languages ?? [navigator.language]);
document.documentElement.lang = lang;
const t = pickStrings(lang);
const REFRESH_MS = 10_000;

interface PublicGroup {
  name: string;
  displayName?: string;
  description?: string;
  locked?: boolean;
  clientCount?: number;
}

/** /group/<name>/ with each path segment encoded. */
export function groupHref(name: string): string {
  return `/group/${name.split('/').filter(Boolean).map(encodeURIComponent).join('/')}/`;
}

function main(): void {
  const root = document.getElementById('app') ?? document.body;
  const input = h('input', { id: 'group-name', name: 'group', type: 'text', autocomplete: 'off', required: true });
  const form = h(
    'form',
    { class: 'go-to-group' },
    h('div', { class: 'field' }, h('label', { for: 'group-name' }, t.groupName), input),
    h('button', { type: 'submit' }, t.go),
  );
  const list = h('ul', { class: 'public-groups', 'aria-live': 'polite' });
  const empty = h('p', { class: 'empty', role: 'status' });
  const section = h('section', { 'aria-labelledby': 'public-h' }, h('h2', { id: 'public-h' }, t.publicGroups), list, empty);
  root.replaceChildren(
    h('header', {}, h('h1', {}, t.appName)),
    h('main', { class: 'landing' }, h('h2', {}, t.landingHeading), form, section),
  );

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const name = input.value.trim().replace(/^\/+|\/+$/g, '');
    if (name) window.location.href = groupHref(name);
  });

  const refresh = async () => {
    try {
      const res = await fetch('/public-groups.json', { cache: 'no-cache' });
      if (!res.ok) throw new Error(String(res.status));
      const groups = (await res.json()) as PublicGroup[];
      list.replaceChildren(
        ...groups.map((g) => {
          const state: string[] = [];
          if (typeof g.clientCount === 'number') state.push(t.clients(g.clientCount));
          if (g.locked) state.push(t.locked);
          const li = h('li', { 'data-group': g.name }, h('a', { href: groupHref(g.name) }, g.displayName || g.name));
          if (state.length) li.append(' ', h('span', { class: 'group-state' }, `(${state.join(', ')})`));
          if (g.description) li.append(h('p', { class: 'description' }, g.description));
          return li;
        }),
      );
      empty.textContent = groups.length ? '' : t.noPublicGroups;
    } catch {
      empty.textContent = t.loadFailed;
    }
  };
  void refresh();
  setInterval(() => void refresh(), REFRESH_MS);
  input.focus();
}

main();
