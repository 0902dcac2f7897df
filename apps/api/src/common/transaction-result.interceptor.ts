import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { TransactionResult } from '@wms/events';
import type { FastifyReply } from 'fastify';
import { map, type Observable } from 'rxjs';

/** Answers a command with its result; a replay of an Idempotency-Key is marked `Idempotent-Replayed: true`. */
@Injectable()
export class TransactionResultInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      map((value) => {
        if (!(value instanceof TransactionResult)) return value;
        if (value.replayed) context.switchToHttp().getResponse<FastifyReply>().header('Idempotent-Replayed', 'true');
        return value.result;
      }),
    );
  }
}
