import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { EventsConfig } from '@wms/events';
import { FastifyAdapter } from '@bull-board/fastify';
import { BullBoardModule } from '@bull-board/nestjs';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { EVENTS_QUEUE, LISTENERS_QUEUE, MAINTENANCE_QUEUE } from '@wms/events';
import { NOTIFICATIONS_QUEUE } from '@wms/notifications';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { TokenService } from '../auth/token.service.js';

export const QUEUES_BOARD_ROUTE = '/admin/queues';
/** The cookie the dashboard sets for admins (path-limited, SameSite=Strict) so the queue UI can be opened in a tab. */
export const BOARD_COOKIE = 'wms_board_token';

/** bull-board's queue UI for the queues: events, listeners, notifications and maintenance. */
export const QueuesBoardModules = [
  BullBoardModule.forRoot({
    route: QUEUES_BOARD_ROUTE,
    adapter: FastifyAdapter,
  }),
  BullBoardModule.forFeature(
    { name: EVENTS_QUEUE, adapter: BullMQAdapter },
    { name: LISTENERS_QUEUE, adapter: BullMQAdapter },
    { name: NOTIFICATIONS_QUEUE, adapter: BullMQAdapter },
    { name: MAINTENANCE_QUEUE, adapter: BullMQAdapter },
  ),
];

/** Admins only: a bearer token or the dashboard's cookie. Runs before bull-board's own routes. */
export function guardQueuesBoard(app: NestFastifyApplication): void {
  const tokens = app.get(TokenService);
  const opsTenant = app.get(EventsConfig).OPS_TENANT;
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
      // The matched route, not the raw URL: a percent-encoded path reaches the same route.
      const route = req.routeOptions.url;
      if (route !== QUEUES_BOARD_ROUTE && !route?.startsWith(`${QUEUES_BOARD_ROUTE}/`)) return;
      const header = req.headers.authorization;
      const cookie = new RegExp(`(?:^|;\\s*)${BOARD_COOKIE}=([^;]+)`).exec(req.headers.cookie ?? '')?.[1];
      const token = header?.startsWith('Bearer ') ? header.slice(7) : cookie && decodeURIComponent(cookie);
      const p = await tokens.resolve(token);
      // bull-board shows every tenant's jobs: only the operating tenant's admins (OPS_TENANT) may open it.
      if (p?.role === 'admin' && p.tenantId === opsTenant) return;
      return reply.status(p ? 403 : 401).send({
        statusCode: p ? 403 : 401,
        code: p ? 'AUTH.NOT_OPERATOR' : 'AUTH.INVALID_TOKEN',
        message: 'the queue UI is for the admins of the operating tenant (OPS_TENANT); open it from the dashboard',
        errors: [],
      });
    });
}
