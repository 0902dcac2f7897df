// Preloaded into the api and worker by `npm run bench:soak` only (node --expose-gc --import …/soak-probe.mjs):
// answers the bench parent over the IPC channel node opens between a parent and the child it spawned.
//   { soak: 'memory', id }            → two full GCs, then { soak: 'memory', id, heapUsed, heapTotal, rss, external }
//   { soak: 'snapshot', id, file }    → v8.writeHeapSnapshot(file), then { soak: 'snapshot', id, file }
// Nothing listens on a port: only the process that started this one can ask, so no tenant can reach it,
// and the product itself carries no diagnostic route.
import v8 from 'node:v8';

if (process.send && typeof globalThis.gc === 'function') {
  // The channel must not keep a process alive that is shutting down.
  process.channel?.unref();
  process.on('message', (msg) => {
    if (!msg || typeof msg !== 'object' || typeof msg.soak !== 'string') return;
    if (msg.soak === 'memory') {
      // Two passes: the first can leave objects whose finalizers only release their referents for the second.
      globalThis.gc();
      globalThis.gc();
      const m = process.memoryUsage();
      process.send({
        soak: 'memory',
        id: msg.id,
        heapUsed: m.heapUsed,
        heapTotal: m.heapTotal,
        rss: m.rss,
        external: m.external,
      });
    } else if (msg.soak === 'snapshot' && typeof msg.file === 'string') {
      globalThis.gc();
      const file = v8.writeHeapSnapshot(msg.file);
      process.send({ soak: 'snapshot', id: msg.id, file });
    }
  });
}
