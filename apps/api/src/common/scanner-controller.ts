import { applyDecorators, Controller, UseInterceptors } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Allow } from '../auth/principal.js';
import { TransactionResultInterceptor } from './transaction-result.interceptor.js';

/**
 * A scanner-facing module of one warehouse (`/warehouses/:wh/…`), open to operators, supervisors and admins:
 * small requests, small answers, Idempotency-Key honoured.
 */
export const ScannerController = (tag: string) =>
  applyDecorators(
    ApiTags(tag),
    ApiBearerAuth(),
    UseInterceptors(TransactionResultInterceptor),
    Allow('operator', 'supervisor', 'admin'),
    Controller('warehouses/:wh'),
  );
