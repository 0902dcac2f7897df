import { Inject, Injectable, Logger } from '@nestjs/common';
import type { EventEnvelope } from '../envelope/event-envelope.js';
import { EVENTS_MESSAGE, roomsFor } from './rooms.js';

/** Either socket.io emitter (@socket.io/redis-emitter or @socket.io/postgres-emitter); both have this shape. */
export interface SocketEmitter {
  to(rooms: string | string[]): { emit(event: string, ...args: unknown[]): unknown };
}

export const SOCKET_EMITTER = Symbol('wms:socket-emitter');

/** The most events one `events` message carries; a busier tick sends several. */
export const MAX_EVENTS_PER_MESSAGE = 100;

/**
 * Sends stored events to dashboards through the socket.io adapter's channel, so every api instance
 * delivers them to its own clients. Best effort: a client that missed some catches up with GET /events/stream.
 *
 * The events stored in one tick (a stored batch) go out as one `events` message per room set (warehouse and event
 * name), in the order they were broadcast: one PUBLISH, one decode on each api instance and one frame per socket for
 * the batch, instead of one of each per event.
 */
@Injectable()
export class EventBroadcaster {
  private readonly logger = new Logger(EventBroadcaster.name);
  private pending = new Map<string, { rooms: string[]; events: EventEnvelope[] }>();
  private scheduled = false;

  constructor(@Inject(SOCKET_EMITTER) private readonly emitter: SocketEmitter) {}

  broadcast(event: EventEnvelope): void {
    const rooms = roomsFor(event);
    const group = rooms.join('\n');
    let batch = this.pending.get(group);
    if (!batch) this.pending.set(group, (batch = { rooms, events: [] }));
    batch.events.push(event);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    const pending = this.pending;
    this.pending = new Map();
    this.scheduled = false;
    for (const { rooms, events } of pending.values())
      for (let i = 0; i < events.length; i += MAX_EVENTS_PER_MESSAGE) {
        const chunk = events.slice(i, i + MAX_EVENTS_PER_MESSAGE);
        try {
          this.emitter.to(rooms).emit(EVENTS_MESSAGE, chunk);
        } catch (error) {
          // Best effort, as the message says: the events are stored, and dashboards catch up through the stream.
          this.logger.warn({ rooms, events: chunk.length, error: (error as Error).message }, 'broadcast not sent');
        }
      }
  }
}
