import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { AuditService } from '@wms/events';
import { CreateUserDto, IssueCredentialDto, UpdateUserDto } from './auth.dto.js';
import { AuthService } from './auth.service.js';
import { IdParam } from '../common/params.js';
import { Allow, Auth, type Principal } from './principal.js';

class AuditQuery {
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500) limit = 100;
  @IsOptional() @Matches(/^\d{1,18}$/, { message: 'before must be the id of an audit entry' }) before?: string;
}

/** People, scanner devices, integration keys and the audit log of the caller's tenant. Admins only. */
@ApiTags('admin')
@Allow('admin')
@Controller('admin')
export class AdminController {
  constructor(
    private readonly auth: AuthService,
    private readonly audit: AuditService,
  ) {}

  @Get('users')
  users(@Auth() admin: Principal) {
    return this.auth.listUsers(admin);
  }

  @Post('users')
  createUser(@Auth() admin: Principal, @Body() dto: CreateUserDto) {
    return this.auth.createUser(admin, dto);
  }

  @Patch('users/:id')
  updateUser(@Auth() admin: Principal, @Param('id', IdParam) id: string, @Body() dto: UpdateUserDto) {
    return this.auth.updateUser(admin, id, dto);
  }

  @Post('users/:id/unlock')
  @HttpCode(200)
  unlockUser(@Auth() admin: Principal, @Param('id', IdParam) id: string) {
    return this.auth.unlockUser(admin, id);
  }

  @Post('devices')
  issueDevice(@Auth() admin: Principal, @Body() dto: IssueCredentialDto) {
    return this.auth.issueDevice(admin, dto.name, dto.warehouses);
  }

  @Delete('devices/:id')
  revokeDevice(@Auth() admin: Principal, @Param('id', IdParam) id: string) {
    return this.auth.revokeDevice(admin, id);
  }

  @Post('api-keys')
  issueApiKey(@Auth() admin: Principal, @Body() dto: IssueCredentialDto) {
    return this.auth.issueApiKey(admin, dto.name, dto.warehouses);
  }

  /** A new key for the same integration; the old one works until it is revoked. */
  @Post('api-keys/:id/rotate')
  rotateApiKey(@Auth() admin: Principal, @Param('id', IdParam) id: string) {
    return this.auth.rotateApiKey(admin, id);
  }

  @Delete('api-keys/:id')
  revokeApiKey(@Auth() admin: Principal, @Param('id', IdParam) id: string) {
    return this.auth.revokeApiKey(admin, id);
  }

  @Get('audit')
  auditLog(@Auth() admin: Principal, @Query() q: AuditQuery) {
    return this.audit.list(admin.tenantId, q.limit, q.before);
  }
}
