import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { EventsConfig } from '../config/events-config.js';
import { CommitNotices } from '../database/commit-notices.js';

/** Whose access changed: a person, a device or API key, or a whole tenant (suspended, resumed). */
export type AccessChange =
  { kind: 'user'; id: string } | { kind: 'credential'; id: string } | { kind: 'tenant'; id: string };

// Persistent contract between processes of different versions: renaming the channel or the payload's shape
// leaves older api instances deaf to revocations until they are restarted.
const CHANNEL = 'wms_access_changed';
const KINDS = new Set(['user', 'credential', 'tenant']);

/** A change notice as sent by announce(); anything else on the channel is not to be trusted. */
function parseChange(payload: string): AccessChange | null {
  const change = JSON.parse(payload) as AccessChange;
  return change && typeof change === 'object' && KINDS.has(change.kind) && typeof change.id === 'string'
    ? change
    : null;
}

/**
 * Tells every api instance, at once, that someone's access changed, so their caches drop it and their open
 * sockets are checked again: a commit notice (NOTIFY in the changing transaction, delivered only when it commits).
 * While the listening connection is down, `live` is false and callers must not trust their caches.
 */
@Injectable()
export class AccessChanges extends CommitNotices<AccessChange> implements OnApplicationShutdown {
  constructor(config: EventsConfig) {
    super(config.DATABASE_URL, CHANNEL, parseChange, 'wms-access-changes');
  }

  onApplicationShutdown(): Promise<void> {
    return this.stop();
  }
}
