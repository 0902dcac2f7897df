import { ConnectedSocket, MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { eventNameRoom, tenantRoom, warehouseRoom } from '@wms/events';
import type { Socket } from 'socket.io';
import { DEFAULT_TENANT } from '../common/request-context.js';

interface SubscribeRequest {
  /** A warehouse code; omit for the tenant-wide events (master data). */
  warehouseId?: string;
  /** Only these event names; omit for all. */
  names?: string[];
}

const CODE = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Dashboards connect here and subscribe to a warehouse (optionally to some event names); stored events
 * arrive as `event` messages. Until sign-in lands (issue 4) the tenant comes from the handshake's `auth.tenantId`.
 */
@WebSocketGateway()
export class EventsGateway {
  @SubscribeMessage('subscribe')
  async subscribe(@ConnectedSocket() socket: Socket, @MessageBody() body: SubscribeRequest) {
    const tenantId = typeof socket.handshake.auth?.tenantId === 'string' ? socket.handshake.auth.tenantId : DEFAULT_TENANT;
    const warehouseId = body?.warehouseId ?? null;
    const names = body?.names ?? [];
    if ((warehouseId !== null && !CODE.test(warehouseId)) || !Array.isArray(names) || !names.every((n) => typeof n === 'string' && CODE.test(n))) {
      return { ok: false, code: 'SOCKET.INVALID_SUBSCRIPTION', message: 'warehouseId must be a warehouse code and names a list of event names' };
    }
    const rooms = names.length
      ? names.map((name) => eventNameRoom(tenantId, warehouseId, name))
      : [warehouseId === null ? tenantRoom(tenantId) : warehouseRoom(tenantId, warehouseId)];
    await socket.join(rooms);
    return { ok: true, rooms };
  }

  @SubscribeMessage('unsubscribe')
  async unsubscribe(@ConnectedSocket() socket: Socket) {
    for (const room of socket.rooms) if (room !== socket.id) await socket.leave(room);
    return { ok: true };
  }
}
