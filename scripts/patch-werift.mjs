/**
 * Run by `npm install` (postinstall): a memory patch to werift 0.24.4's `Event` class in
 * node_modules/werift/lib/index.mjs (the ESM bundle this project imports).
 *
 * Every werift `Event` (about 62 per viewer connection) creates its ten methods as arrow functions when it is
 * constructed, ~1 KB each, used or not: about 34 KB of heap per viewer (bench/memory.ts, src/forward/NOTES.md).
 * This turns each of those fields into a getter that creates the same arrow function on first use and keeps it
 * on the instance (so `const { execute } = event` still works), and lets `execute` skip its async loop (a
 * promise per call) when no queuing subscriber exists. Behaviour is otherwise unchanged;
 * src/forward/wEvent.test.ts checks both. A werift whose bundle does not look as expected is left alone, with
 * a warning (the test then fails, which says the patch must be redone).
 */
import fs from 'node:fs';

const MARK = '/* lectern: lazy Event methods */';
const file = new URL('../node_modules/werift/lib/index.mjs', import.meta.url);

function patch(text) {
  if (text.includes(MARK)) return { text, note: 'already patched' };
  const start = text.indexOf('\nvar Event2 = class {\n');
  const end = start < 0 ? -1 : text.indexOf('\n};\n', start);
  if (start < 0 || end < 0) return { text, note: 'Event2 class not found' };
  const lines = text.slice(start + 1, end + 1).split('\n');
  const out = [];
  let lazy = 0;
  for (let i = 0; i < lines.length; i++) {
    const m = /^ {2}(\w+) = (\(.*=>.*)$/.exec(lines[i]);
    if (!m) {
      out.push(lines[i]);
      continue;
    }
    const [, name, rest] = m;
    let j = i + 1;
    while (j < lines.length && lines[j] !== '  };' && lines[j] !== '  });') j++;
    if (j >= lines.length) return { text, note: `end of ${name} not found` };
    out.push(`  get ${name}() { const f = ${rest}`);
    let body = lines.slice(i + 1, j);
    if (name === 'execute') {
      const k = body.findIndex((l) => l.trim() === '(async () => {');
      if (k < 0) return { text, note: 'execute has changed' };
      body[k] = body[k].replace('(async () => {', 'if (this.event.promiseStack.length > 0) (async () => {');
    }
    out.push(...body);
    out.push(`${lines[j]} return __lecternOwn(this, "${name}", f); }`);
    out.push(`  set ${name}(v) { __lecternOwn(this, "${name}", v); }`);
    lazy++;
    i = j;
  }
  if (lazy < 10) return { text, note: `expected 10 arrow fields, found ${lazy}` };
  const helper =
    `${MARK}\nfunction __lecternOwn(o, k, v) {\n  Object.defineProperty(o, k, { value: v, writable: true, configurable: true, enumerable: true });\n  return v;\n}\n`;
  return { text: `${text.slice(0, start + 1)}${helper}${out.join('\n')}${text.slice(end + 1)}`, note: `patched ${lazy} methods` };
}

if (!fs.existsSync(file)) {
  console.warn('patch-werift: node_modules/werift/lib/index.mjs not found; nothing patched');
} else {
  const before = fs.readFileSync(file, 'utf8');
  const { text, note } = patch(before);
  if (text !== before) fs.writeFileSync(file, text);
  (note.startsWith('patched') || note === 'already patched' ? console.log : console.warn)(`patch-werift: ${note}`);
}
