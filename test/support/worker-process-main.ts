import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type EventEnvelope, QueuedListener } from '@wms/events';
import { Logger as PinoLogger } from 'nestjs-pino';
import type { EntityManager } from 'typeorm';
import { loadWorkerConfig } from '../../apps/worker/src/worker-config.js';
import { WorkerModule } from '../../apps/worker/src/worker.module.js';

/**
 * The worker's main (apps/worker/src/main.ts) with one queued listener whose effect is a row in the table named by
 * TEST_EFFECTS_TABLE, written in the listener's transaction: a test counts how often each event was handled.
 */
@Injectable()
class RecordEffects {
  private readonly table = process.env.TEST_EFFECTS_TABLE;

  @QueuedListener({ name: 'test-record-when-tracking-updated', events: ['carrier.tracking_updated'] })
  async record(event: EventEnvelope, manager: EntityManager): Promise<void> {
    if (!this.table || !/^[a-z_][a-z0-9_]*$/.test(this.table)) return;
    await manager.query(`INSERT INTO ${this.table} (event_id, pid) VALUES ($1, $2)`, [event.id, process.pid]);
  }
}

@Module({ providers: [RecordEffects] })
class RecordEffectsModule {}

const config = loadWorkerConfig();
const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config, [RecordEffectsModule]), {
  bufferLogs: true,
});
app.useLogger(app.get(PinoLogger));
app.enableShutdownHooks();
console.log(JSON.stringify({ msg: 'worker started', pid: process.pid }));
