import { ConnectedSocket, MessageBody, OnGatewayInit, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { ApiConfig } from '../api-config.js';
import { type AccessChange, EventCatalog, eventNameRoom, tenantRoom, warehouseRoom } from '@wms/events';
import { userRoom } from '@wms/notifications';
import type { Server, Socket } from 'socket.io';
import { canSeeWarehouse, type Principal } from '../auth/principal.js';
import { TokenService } from '../auth/token.service.js';
import { badTextAt } from '../common/request-text.js';

interface SubscribeRequest {
  /** A warehouse code; omit for the tenant-wide events (master data). */
  warehouseId?: string;
  /** Only these event names; omit for all. */
  names?: string[];
}

const CODE = /^[A-Za-z0-9._-]{1,64}$/;
/** Distinct warehouses one socket may follow when its caller may see every warehouse (admins). */
const MAX_WAREHOUSES_PER_SOCKET = 100;

const refused = (code: string, message: string) => ({ ok: false as const, code, message });
const invalid = () =>
  refused('SOCKET.INVALID_SUBSCRIPTION', 'send { warehouseId?: a warehouse code, names?: a list of event names }');

/** The rooms a socket subscribed to, each with its warehouse (null: tenant-wide). */
type Subscriptions = Map<string, string | null>;

const affects = (change: AccessChange, p: Principal | undefined): boolean =>
  !!p &&
  (change.kind === 'tenant'
    ? p.tenantId === change.id
    : change.kind === 'user'
      ? p.kind === 'user' && p.id === change.id
      : p.kind !== 'user' && p.id === change.id);
const DASHBOARD_ROLES = new Set(['operator', 'supervisor', 'admin']);

/**
 * Dashboards connect with `auth: { token }` (an access or device token) and subscribe to warehouses they
 * may see; stored events arrive as `events` messages (an array per warehouse and event name of each stored batch).
 * Rooms are per tenant, so nothing crosses tenants.
 */
@WebSocketGateway()
export class EventsGateway implements OnGatewayInit {
  constructor(
    private readonly tokens: TokenService,
    private readonly config: ApiConfig,
  ) {}

  /** Sockets whose handshake is looking up their token: a change heard meanwhile makes them look again. */
  private readonly handshaking = new Set<Socket>();
  private readonly messageWindows = new Map<string, { count: number; resetAt: number }>();
  /** The catalog is complete once the modules are loaded: read it once, not per message. */
  private readonly eventNames = new Set(EventCatalog.definitions().map((d) => d.name));

  afterInit(server: Server): void {
    // Someone's access changed (on any instance): their open sockets here are checked again at once.
    this.tokens.onChange((change) => {
      for (const socket of this.handshaking) socket.data.stale = true;
      for (const socket of server.sockets.sockets.values())
        if (affects(change, socket.data.principal)) void this.recheck(socket);
    });
    server.use((socket, next) => {
      const token = typeof socket.handshake.auth?.token === 'string' ? socket.handshake.auth.token : undefined;
      this.handshaking.add(socket);
      this.resolveSettled(socket, token).then(
        (principal) => {
          // socket.io registers the socket on the next tick, before any change notice can arrive.
          this.handshaking.delete(socket);
          if (!principal || !DASHBOARD_ROLES.has(principal.role))
            return next(new Error('AUTH.INVALID_TOKEN: connect with auth: { token } from POST /auth/login'));
          socket.data.principal = principal;
          socket.data.token = token;
          socket.data.subscriptions = new Map<string, string | null>();
          // A person's own room carries their in-app notifications.
          if (principal.kind === 'user') void socket.join(userRoom(principal.tenantId, principal.id));
          // A token that expires or is revoked ends the live stream too, not only new requests.
          const recheck = setInterval(() => void this.recheck(socket), this.config.SOCKET_REAUTH_MS);
          // Every message is checked like a body before any handler: one object argument, no NUL or lone surrogate.
          socket.use((packet, nextPacket) => {
            const [, ...args] = packet;
            const ack = typeof args.at(-1) === 'function' ? (args.pop() as (answer: unknown) => void) : undefined;
            const [data] = args;
            const ok = args.length <= 1 && (data === undefined || (typeof data === 'object' && data !== null));
            const badText = ok ? badTextAt(data, '') : null;
            if (ok && badText === null) return nextPacket();
            ack?.(
              badText === null
                ? invalid()
                : refused('REQUEST.INVALID_TEXT', `${badText} holds a NUL or a lone surrogate`),
            );
          });
          socket.on('disconnect', () => clearInterval(recheck));
          next();
        },
        (error: Error) => {
          this.handshaking.delete(socket);
          next(error);
        },
      );
    });
  }

  /** The token's principal, looked up again if someone's access changed while it was being looked up. */
  private async resolveSettled(socket: Socket, token: string | undefined): Promise<Principal | null> {
    for (;;) {
      socket.data.stale = false;
      const principal = await this.tokens.resolve(token);
      if (!socket.data.stale) return principal;
    }
  }

  @SubscribeMessage('subscribe')
  async subscribe(@ConnectedSocket() socket: Socket, @MessageBody() message: unknown) {
    // Access as it is now (a cache hit), not as it was at the handshake or the last re-check.
    const principal = await this.tokens.resolve(socket.data.token);
    if (!principal) {
      socket.disconnect(true);
      return {
        ok: false,
        code: 'AUTH.INVALID_TOKEN',
        message: 'the token is invalid, expired or revoked; sign in again',
      };
    }
    if (!this.withinRate(principal)) return refused('RATE_LIMITED', 'too many socket messages; slow down');
    // Validated like a body: an object with known fields of the right kinds, nothing else.
    if (typeof message !== 'object' || message === null || Array.isArray(message)) return invalid();
    if (Object.keys(message).some((k) => k !== 'warehouseId' && k !== 'names')) return invalid();
    const body = message as { [K in keyof SubscribeRequest]?: unknown };
    const warehouseId = (body.warehouseId ?? null) as string | null;
    const names = (body.names ?? []) as string[];
    if (
      (warehouseId !== null && (typeof warehouseId !== 'string' || !CODE.test(warehouseId))) ||
      !Array.isArray(names) ||
      names.length > this.eventNames.size ||
      !names.every((n) => typeof n === 'string' && this.eventNames.has(n))
    ) {
      return invalid();
    }
    const subscribed = new Set((socket.data.subscriptions as Subscriptions).values());
    if (!subscribed.has(warehouseId) && subscribed.size >= MAX_WAREHOUSES_PER_SOCKET) {
      return refused('SOCKET.TOO_MANY_ROOMS', `one socket follows at most ${MAX_WAREHOUSES_PER_SOCKET} warehouses`);
    }
    if (warehouseId !== null && !canSeeWarehouse(principal, warehouseId)) {
      return {
        ok: false,
        code: 'AUTH.FORBIDDEN_WAREHOUSE',
        message: `you are not assigned to warehouse ${warehouseId}`,
      };
    }
    const tenantId = principal.tenantId;
    const rooms = names.length
      ? names.map((name) => eventNameRoom(tenantId, warehouseId, name))
      : [warehouseId === null ? tenantRoom(tenantId) : warehouseRoom(tenantId, warehouseId)];
    await socket.join(rooms);
    for (const room of rooms) (socket.data.subscriptions as Subscriptions).set(room, warehouseId);
    return { ok: true, rooms };
  }

  /** Revoked, disabled, suspended or expired: disconnected. Still valid: keeps only the rooms of warehouses it may still see. */
  private async recheck(socket: Socket): Promise<void> {
    const seq = (socket.data.recheckSeq = (socket.data.recheckSeq ?? 0) + 1);
    const principal = await this.tokens.resolve(socket.data.token).catch(() => undefined);
    // A later re-check started after a newer change: its answer wins, not this older one.
    if (principal === undefined || seq !== socket.data.recheckSeq) return;
    if (!principal || !DASHBOARD_ROLES.has(principal.role)) {
      socket.disconnect(true);
      return;
    }
    socket.data.principal = principal;
    const subscriptions = socket.data.subscriptions as Subscriptions;
    for (const [room, warehouseId] of subscriptions) {
      if (warehouseId !== null && !canSeeWarehouse(principal, warehouseId)) {
        subscriptions.delete(room);
        await socket.leave(room);
      }
    }
  }

  /** Socket messages per principal and minute, on this instance. */
  private withinRate(p: Principal): boolean {
    const key = `${p.kind}:${p.id}`;
    const now = Date.now();
    let window = this.messageWindows.get(key);
    if (!window || window.resetAt <= now) {
      if (this.messageWindows.size > 10_000) this.messageWindows.clear();
      window = { count: 0, resetAt: now + 60_000 };
      this.messageWindows.set(key, window);
    }
    return ++window.count <= this.config.SOCKET_MESSAGES_PER_MINUTE;
  }

  @SubscribeMessage('unsubscribe')
  async unsubscribe(@ConnectedSocket() socket: Socket) {
    if (!this.withinRate(socket.data.principal)) return refused('RATE_LIMITED', 'too many socket messages; slow down');
    const own =
      socket.data.principal.kind === 'user' ? userRoom(socket.data.principal.tenantId, socket.data.principal.id) : null;
    for (const room of socket.rooms) if (room !== socket.id && room !== own) await socket.leave(room);
    (socket.data.subscriptions as Subscriptions).clear();
    return { ok: true };
  }
}
