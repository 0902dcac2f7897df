import { Inject, Injectable } from '@nestjs/common';
import type { EventEnvelope } from '../envelope/event-envelope.js';
import { EVENT_MESSAGE, roomsFor } from './rooms.js';

/** Either socket.io emitter (@socket.io/redis-emitter or @socket.io/postgres-emitter); both have this shape. */
export interface SocketEmitter {
  to(rooms: string | string[]): { emit(event: string, ...args: unknown[]): unknown };
}

export const SOCKET_EMITTER = Symbol('wms:socket-emitter');

/**
 * Sends stored events to dashboards through the socket.io adapter's channel, so every api instance
 * delivers them to its own clients. Best effort: a client that missed some catches up with GET /events.
 */
@Injectable()
export class EventBroadcaster {
  constructor(@Inject(SOCKET_EMITTER) private readonly emitter: SocketEmitter) {}

  broadcast(event: EventEnvelope): void {
    this.emitter.to(roomsFor(event)).emit(EVENT_MESSAGE, event);
  }
}
