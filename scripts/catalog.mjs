// `npm run catalog`: writes docs/event-catalog.md from the code (event types, schemas, emitters, listeners).
import 'reflect-metadata';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build, root } from './services.mjs';

build();
const { EventCatalog, declaredQueuedListeners, renderCatalogMarkdown } = await import('@wms/events');
await import('@wms/wms-domain');
await import('@wms/notifications');
const listenersOf = (name) =>
  declaredQueuedListeners()
    .filter((l) => l.events.includes(name))
    .map((l) => l.name);
const file = path.join(root, 'docs', 'event-catalog.md');
mkdirSync(path.dirname(file), { recursive: true });
writeFileSync(file, renderCatalogMarkdown(EventCatalog.describe(listenersOf)));
console.log(
  JSON.stringify({ level: 'info', msg: 'event catalog written', file, types: EventCatalog.definitions().length }),
);
