import type { FieldProblem } from '@wms/events';

/** The one error shape every 4xx/5xx of the api has. */
export interface ErrorBody {
  statusCode: number;
  code: string;
  message: string;
  errors: FieldProblem[];
}
