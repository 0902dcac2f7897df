import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { DeadLetterAdminService, ProjectionRebuildService, ReplayService } from '@wms/events';
import { IdParam, ListenerParam } from '../common/params.js';
import { actorOf, Allow, Auth, type Principal } from '../auth/principal.js';
import {
  BulkRetryDto,
  DeadLetterFilterDto,
  DeadLetterListQuery,
  DiscardDto,
  RebuildDto,
  ReplayDto,
} from './dead-letters.dto.js';

/**
 * Failed jobs for admins: inspect, group, retry (one or by filter, with a dry run), discard; replay history;
 * rebuild a projection listener.
 */
@ApiTags('dead letters')
@ApiBearerAuth()
@Allow('admin')
@Controller('admin')
export class DeadLettersController {
  constructor(
    private readonly deadLetters: DeadLetterAdminService,
    private readonly replays: ReplayService,
    private readonly rebuilds: ProjectionRebuildService,
  ) {}

  @Get('dead-letters')
  list(@Auth() p: Principal, @Query() q: DeadLetterListQuery) {
    const { limit, ...filter } = q;
    return this.deadLetters.list(p.tenantId, filter, limit);
  }

  @Get('dead-letters/groups')
  groups(@Auth() p: Principal, @Query() q: DeadLetterFilterDto) {
    return this.deadLetters.groups(p.tenantId, q);
  }

  @Get('dead-letters/:id')
  get(@Auth() p: Principal, @Param('id', IdParam) id: string) {
    return this.deadLetters.get(p.tenantId, id);
  }

  @Post('dead-letters/:id/retry')
  @HttpCode(200)
  retry(@Auth() p: Principal, @Param('id', IdParam) id: string) {
    return this.deadLetters.retry(actorOf(p), p.tenantId, id);
  }

  @Post('dead-letters/retry')
  @HttpCode(200)
  retryMany(@Auth() p: Principal, @Body() dto: BulkRetryDto) {
    return this.deadLetters.retryMany(actorOf(p), p.tenantId, dto.filter, dto);
  }

  @Post('dead-letters/:id/discard')
  @HttpCode(200)
  discard(@Auth() p: Principal, @Param('id', IdParam) id: string, @Body() dto: DiscardDto) {
    return this.deadLetters.discard(actorOf(p), p.tenantId, id, dto.reason);
  }

  @Post('replays')
  async replay(@Auth() p: Principal, @Body() dto: ReplayDto) {
    const { eventIds, ...result } = await this.replays.replay(actorOf(p), p.tenantId, dto);
    return { ...result, firstEventId: eventIds[0] ?? null, lastEventId: eventIds.at(-1) ?? null };
  }

  @Post('listeners/:listener/rebuild')
  rebuild(@Auth() p: Principal, @Param('listener', ListenerParam) listener: string, @Body() dto: RebuildDto) {
    return this.rebuilds.rebuild(actorOf(p), p.tenantId, listener, dto);
  }

  @Get('listeners/:listener/rebuilds/:id')
  rebuildProgress(
    @Auth() p: Principal,
    @Param('listener', ListenerParam) listener: string,
    @Param('id', IdParam) id: string,
  ) {
    return this.rebuilds.progress(p.tenantId, listener, id);
  }
}
