import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { NotificationsConfig } from '@wms/notifications';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';

import { InboxService, NotificationRulesService, PreferencesService } from '@wms/notifications';
import { IdParam } from '../common/params.js';
import { Allow, Auth, type Principal } from '../auth/principal.js';
import { FieldValidationException } from '../common/validation.pipe.js';
import { InboxQuery, PreferencesDto, PushSubscriptionDto, RuleDto } from './notifications.dto.js';

/** The signed-in person's inbox, notification preferences and push subscriptions. */
@ApiTags('notifications')
@ApiBearerAuth()
@Allow('operator', 'supervisor', 'admin')
@Controller('me')
export class MyNotificationsController {
  constructor(
    private readonly inbox: InboxService,
    private readonly preferences: PreferencesService,
    private readonly config: NotificationsConfig,
  ) {}

  private userOnly(p: Principal): string {
    if (p.kind !== 'user')
      throw new FieldValidationException([
        { field: 'Authorization', reason: 'only people have an inbox; sign in as a user' },
      ]);
    return p.id;
  }

  @Get('notifications')
  list(@Auth() p: Principal, @Query() q: InboxQuery) {
    return this.inbox.list(this.userOnly(p), q.limit, q.unread === 'true');
  }

  @Post('notifications/:id/read')
  @HttpCode(200)
  read(@Auth() p: Principal, @Param('id', IdParam) id: string) {
    return this.inbox.markRead(this.userOnly(p), id);
  }

  @Post('notifications/read-all')
  @HttpCode(200)
  readAll(@Auth() p: Principal) {
    return this.inbox.markAllRead(this.userOnly(p));
  }

  @Get('notification-preferences')
  getPreferences(@Auth() p: Principal) {
    return this.preferences.get(this.userOnly(p));
  }

  @Put('notification-preferences')
  setPreferences(@Auth() p: Principal, @Body() dto: PreferencesDto) {
    return this.preferences.set(this.userOnly(p), dto);
  }

  @Get('push-subscriptions/vapid-public-key')
  vapidKey() {
    return { publicKey: this.config.VAPID_PUBLIC_KEY ?? null };
  }

  @Post('push-subscriptions')
  subscribe(@Auth() p: Principal, @Body() dto: PushSubscriptionDto) {
    return this.preferences.subscribe(p.tenantId, this.userOnly(p), dto);
  }

  @Delete('push-subscriptions/:id')
  @HttpCode(204)
  async unsubscribe(@Auth() p: Principal, @Param('id', IdParam) id: string) {
    await this.preferences.unsubscribe(this.userOnly(p), id);
  }
}

/** Routing rules of the tenant. Admins only. */
@ApiTags('notifications')
@ApiBearerAuth()
@Allow('admin')
@Controller('notification-rules')
export class NotificationRulesController {
  constructor(private readonly rules: NotificationRulesService) {}

  @Get()
  list(@Auth() p: Principal) {
    return this.rules.list(p.tenantId);
  }

  @Post()
  create(@Auth() p: Principal, @Body() dto: RuleDto) {
    return this.rules.create(p.tenantId, dto);
  }

  @Put(':id')
  update(@Auth() p: Principal, @Param('id', IdParam) id: string, @Body() dto: RuleDto) {
    return this.rules.update(p.tenantId, id, dto);
  }

  @Delete(':id')
  remove(@Auth() p: Principal, @Param('id', IdParam) id: string) {
    return this.rules.remove(p.tenantId, id);
  }
}
