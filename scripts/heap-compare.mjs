// Compares two V8 heap snapshots (e.g. the ones `SOAK_HEAPSNAPSHOTS=<dir> npm run bench:soak` writes) by constructor:
// how many objects of each kind, and how many bytes they hold themselves, were added between the two.
//   node --max-old-space-size=4096 scripts/heap-compare.mjs before.heapsnapshot after.heapsnapshot [top=30]
import { readFileSync } from 'node:fs';

function countByConstructor(file) {
  const snap = JSON.parse(readFileSync(file, 'utf8'));
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const byKind = new Map();
  const { nodes, strings } = snap;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]];
    // Strings and code are grouped by type; objects, closures and arrays by constructor or name.
    const name = type === 'object' || type === 'closure' ? strings[nodes[i + nameAt]] : `(${type})`;
    const k = byKind.get(name) ?? { count: 0, bytes: 0 };
    k.count++;
    k.bytes += nodes[i + sizeAt];
    byKind.set(name, k);
  }
  return byKind;
}

const [beforeFile, afterFile, topArg] = process.argv.slice(2);
if (!beforeFile || !afterFile) {
  console.error('usage: node scripts/heap-compare.mjs before.heapsnapshot after.heapsnapshot [top]');
  process.exit(2);
}
const before = countByConstructor(beforeFile);
const after = countByConstructor(afterFile);
const rows = [...new Set([...before.keys(), ...after.keys()])].map((name) => {
  const b = before.get(name) ?? { count: 0, bytes: 0 };
  const a = after.get(name) ?? { count: 0, bytes: 0 };
  return {
    name: name.slice(0, 60),
    before: b.count,
    after: a.count,
    addedObjects: a.count - b.count,
    addedKB: Math.round((a.bytes - b.bytes) / 1024),
  };
});
const top = Number(topArg ?? 30);
const total = (m) => [...m.values()].reduce((s, k) => s + k.bytes, 0);
console.log(`self size: ${(total(before) / 1048576).toFixed(1)} MB → ${(total(after) / 1048576).toFixed(1)} MB`);
console.log('most objects added:');
console.table(rows.sort((x, y) => y.addedObjects - x.addedObjects).slice(0, top));
console.log('most bytes added:');
console.table(rows.sort((x, y) => y.addedKB - x.addedKB).slice(0, top));
