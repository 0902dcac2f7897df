import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { EventsConfig } from '@wms/events';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { DomainError, TENANT_ID, TenantsService, type Operator } from '@wms/events';
import { PathCode } from '../common/params.js';
import { actorOf, Allow, Auth, type Principal } from '../auth/principal.js';
import { AdminCodeDto, CreateTenantDto, SuspendTenantDto } from './tenants.dto.js';

const TenantIdParam = new PathCode('id', TENANT_ID, 'must be a tenant id: 2-63 lower-case letters, digits or "-"');

/**
 * Where the admin chooses a password on the dashboard, relative to the api's URL; the code is in the fragment, so it
 * never reaches a server log.
 */
const withLink = <T extends { setPasswordCode: string }>(r: T) => ({
  ...r,
  setPasswordLink: `/ui/#set-password=${r.setPasswordCode}`,
});

/** The installation's tenants: created with a first admin, suspended, resumed. Admins of the operating tenant (OPS_TENANT) only. */
@ApiTags('tenants')
@ApiBearerAuth()
@Allow('admin')
@Controller('admin/tenants')
export class TenantsController {
  constructor(
    private readonly tenants: TenantsService,
    private readonly config: EventsConfig,
  ) {}

  private operator(p: Principal): Operator {
    if (!this.config.OPS_TENANT || p.tenantId !== this.config.OPS_TENANT) {
      throw new DomainError(
        'AUTH.NOT_OPERATOR',
        'tenants are provisioned by the admins of the operating tenant (OPS_TENANT)',
        'forbidden',
        [{ field: 'Authorization', reason: 'not the operating tenant' }],
      );
    }
    return { tenantId: p.tenantId, actor: actorOf(p) };
  }

  @Get()
  list(@Auth() p: Principal) {
    this.operator(p);
    return this.tenants.list();
  }

  @Post()
  async create(@Auth() p: Principal, @Body() dto: CreateTenantDto) {
    return withLink(await this.tenants.create(this.operator(p), dto));
  }

  /** A new one-time set-password code for a first admin whose code expired or was lost. */
  @Post(':id/admin-code')
  async adminCode(@Auth() p: Principal, @Param('id', TenantIdParam) id: string, @Body() dto: AdminCodeDto) {
    return withLink(await this.tenants.reissueAdminCode(this.operator(p), id, dto.email));
  }

  @Post(':id/suspend')
  @HttpCode(200)
  suspend(@Auth() p: Principal, @Param('id', TenantIdParam) id: string, @Body() dto: SuspendTenantDto) {
    return this.tenants.suspend(this.operator(p), id, dto.reason);
  }

  @Post(':id/resume')
  @HttpCode(200)
  resume(@Auth() p: Principal, @Param('id', TenantIdParam) id: string) {
    return this.tenants.resume(this.operator(p), id);
  }
}
