import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { isConnectionLost } from '@wms/events';
import type { FastifyRequest } from 'fastify';
import { type Observable, retry, throwError, timer } from 'rxjs';

const SAFE = new Set(['GET', 'HEAD']);

/**
 * A read whose database connection dropped is answered again once, on a fresh connection: it changed
 * nothing, so running it twice is safe. Writes are retried by their unit of work, which knows whether
 * COMMIT was sent; everything else that loses the database becomes a 503 in the error filter.
 */
@Injectable()
export class ReadRetryInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http' || !SAFE.has(context.switchToHttp().getRequest<FastifyRequest>().method)) {
      return next.handle();
    }
    return next
      .handle()
      .pipe(
        retry({ count: 1, delay: (error: unknown) => (isConnectionLost(error) ? timer(0) : throwError(() => error)) }),
      );
  }
}
