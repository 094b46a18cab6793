/**
 * Difference between two V8 heap snapshots, by constructor: count and self size of each node class (objects by
 * constructor name, other nodes by type, e.g. `(closure) name`, `(array)`, `(string)`), largest growth first.
 *
 *   npx tsx bench/heapDiff.ts <before.heapsnapshot> <after.heapsnapshot> [--per <n>] [--top 40]
 *
 * `--per <n>` also divides the growth by n (e.g. bytes per viewer). Plain text on stdout.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** class -> [count, self bytes] */
function byClass(file: string): Map<string, [number, number]> {
  const s = JSON.parse(fs.readFileSync(file, 'utf8')) as Snapshot;
  const fields = s.snapshot.meta.node_fields;
  const types = s.snapshot.meta.node_types[0];
  const [iType, iName, iSize] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [number, number, number];
  const out = new Map<string, [number, number]>();
  for (let i = 0; i < s.nodes.length; i += fields.length) {
    const type = types[s.nodes[i + iType]!]!;
    const name = s.strings[s.nodes[i + iName]!]!;
    const key = type === 'object' || type === 'native' ? name : type === 'closure' ? `(closure) ${name}` : `(${type})`;
    const e = out.get(key) ?? [0, 0];
    e[0] += 1;
    e[1] += s.nodes[i + iSize]!;
    out.set(key, e);
  }
  return out;
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { per: { type: 'string', default: '1' }, top: { type: 'string', default: '40' } } });
if (positionals.length !== 2) {
  console.error('usage: heapDiff <before.heapsnapshot> <after.heapsnapshot> [--per <n>] [--top 40]');
  process.exit(2);
}
const per = Number(values.per);
const a = byClass(positionals[0]!);
const b = byClass(positionals[1]!);
const rows = [...new Set([...a.keys(), ...b.keys()])].map((k) => {
  const [c0, s0] = a.get(k) ?? [0, 0];
  const [c1, s1] = b.get(k) ?? [0, 0];
  return { k, dc: c1 - c0, ds: s1 - s0 };
});
rows.sort((x, y) => y.ds - x.ds);
const total = rows.reduce((t, r) => t + r.ds, 0);
console.log(`total self size growth ${Math.round(total / 1024)} KB, ${Math.round(total / per / 1024 * 10) / 10} KB per ${per}`);
console.log('   bytes/per   count/per  class');
for (const r of rows.slice(0, Number(values.top))) {
  console.log(`${(r.ds / per).toFixed(0).padStart(12)} ${(r.dc / per).toFixed(1).padStart(11)}  ${r.k.slice(0, 100)}`);
}
