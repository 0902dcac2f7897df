import { Injectable, Module } from '@nestjs/common';
import { type EventEnvelope, QueuedListener } from '@wms/events';
import type { CarrierTrackingUpdatedV1 } from '@wms/wms-domain';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from './support/env.js';
import { startSystem, TEST_PASSWORD, type TestSystem, tracking } from './support/system.js';

@Injectable()
class FailingErp {
  @QueuedListener({ name: 'test-ui-erp-when-tracking-updated', events: ['carrier.tracking_updated'] })
  sync(event: EventEnvelope<CarrierTrackingUpdatedV1>) {
    if (event.payload.orderNumber.startsWith('SO-FAIL')) throw new Error(`ERP refused ${event.payload.orderNumber}`);
  }
}

@Module({ providers: [FailingErp] })
class FailingErpModule {}

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const artifacts = path.join(testEnv.root, 'test-artifacts');

/** The dashboard in a real headless Chromium (Debian's), driven by playwright-core. */
describe('monitoring dashboard (browser)', () => {
  let sys: TestSystem;
  let browser: Browser;
  let page: Page;
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    mkdirSync(artifacts, { recursive: true });
    sys = await startSystem({ imports: [FailingErpModule], env: { LISTENER_ATTEMPTS: '1' } });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${sys.url}/ui/`);
    await page.fill('input[name=email]', `admin@${sys.tenant}.local`);
    await page.fill('input[name=password]', TEST_PASSWORD);
    await page.click('button[type=submit]');
    await page.getByTestId('connection').filter({ hasText: 'live' }).waitFor({ timeout: 15_000 });
  }, 60_000);
  afterAll(async () => {
    writeFileSync(path.join(artifacts, 'dashboard-timings.json'), JSON.stringify(timings, null, 2));
    await browser?.close();
    await sys?.close();
  });

  const row = (id: string) => page.locator(`[data-event-id="${id}"]`);

  it('shows published events in the live stream as they happen, filters them and opens one', async () => {
    const started = Date.now();
    const published: string[] = [];
    for (const o of ['SO-UI1', 'SO-UI2', 'SO-UI3'])
      published.push((await sys.post('/events', tracking({ orderNumber: o }))).body.id as string);
    await row(published[2]).waitFor({ timeout: 10_000 });
    timings.publishToStreamMs = Date.now() - started;
    await page.getByTestId('text-filter').fill('SO-UI2');
    expect(await page.locator('[data-event-id]').count()).toBe(1);
    await row(published[1]).click();
    await expect.poll(() => page.getByTestId('envelope').textContent()).toContain(published[1]);
    await page.screenshot({ path: path.join(artifacts, 'dashboard-stream.png') });
    await page.getByTestId('text-filter').fill('');
  });

  it('catches up on events missed while the connection was down', async () => {
    await page.evaluate(() => (window as unknown as { __wmsSocket: { disconnect(): void } }).__wmsSocket.disconnect());
    await page.getByTestId('connection').filter({ hasText: 'reconnecting' }).waitFor();
    const missed: string[] = [];
    for (const o of ['SO-GAP1', 'SO-GAP2'])
      missed.push((await sys.post('/events', tracking({ orderNumber: o }))).body.id as string);
    // Wait until both are stored, so the catch-up is what brings them (the socket was down when they were broadcast).
    await expect.poll(async () => (await sys.get(`/events/${missed[1]}`)).status, { timeout: 15_000 }).toBe(200);
    await page.evaluate(() => (window as unknown as { __wmsSocket: { connect(): void } }).__wmsSocket.connect());
    for (const id of missed) await row(id).waitFor({ timeout: 10_000 });
  });

  it('charts throughput and shows the queues', async () => {
    await page.getByTestId('tab-stats').click();
    const chart = page.getByTestId('throughput-chart');
    await expect
      .poll(async () => Number(await chart.getAttribute('data-points')), { timeout: 15_000 })
      .toBeGreaterThanOrEqual(5);
    const before = Number(await chart.getAttribute('data-points'));
    for (let i = 0; i < 5; i++) await sys.post('/events', tracking({ orderNumber: `SO-CHART${i}` }));
    await expect
      .poll(async () => Number(await chart.getAttribute('data-points')), { timeout: 20_000 })
      .toBeGreaterThanOrEqual(before + 5);
    // The admin is the operating tenant's: its own backlog, and the queues (every tenant's jobs).
    expect(await page.getByTestId('pending-events').textContent()).toMatch(/^\d+ \(\d+ s\)$/);
    expect(await page.getByTestId('backlog').textContent()).toContain('event-listeners');
    await page.screenshot({ path: path.join(artifacts, 'dashboard-stats.png') });
  });

  it('opens a dead letter and retries it, and shows the admin’s unread notification', async () => {
    await sys.post('/events', tracking({ orderNumber: 'SO-FAIL1' }));
    await expect
      .poll(async () => (await sys.get('/admin/dead-letters?search=SO-FAIL1')).body.length, { timeout: 15_000 })
      .toBe(1);
    await page.getByTestId('tab-dead').click();
    await page.getByTestId('dead-letters').getByText('ERP refused SO-FAIL1').click();
    await page.getByTestId('retry').click();
    await expect.poll(() => page.getByTestId('dl-message').textContent()).toContain('retried');
    // The ERP still refuses it, so the retry comes back to the same dead letter with one retry counted.
    await expect
      .poll(async () => (await sys.get('/admin/dead-letters?search=SO-FAIL1')).body[0].retries, { timeout: 15_000 })
      .toBe(1);
    await page.getByTestId('unread').waitFor({ timeout: 15_000 });
    await page.screenshot({ path: path.join(artifacts, 'dashboard-dead-letters.png') });
    await page.getByTestId('tab-inbox').click();
    await page.getByText('Failed job: test-ui-erp-when-tracking-updated').first().waitFor();
    await page.screenshot({ path: path.join(artifacts, 'dashboard-inbox.png') });
  });

  it('lets a new tenant’s first admin choose a password from the link, and signs them out when the tenant is suspended', async () => {
    const id = `ui-${Date.now().toString(36)}`;
    const created = await sys.post('/admin/tenants', {
      id,
      name: 'UI tenant',
      adminEmail: `first@${id}.example`,
      adminName: 'First',
    });
    expect(created.status).toBe(201);
    const newcomer = await browser.newPage({ viewport: { width: 1024, height: 700 } });
    await newcomer.goto(`${sys.url}${created.body.setPasswordLink}`);
    await newcomer.fill('input[name=password]', 'ui-first-password-1');
    await newcomer.fill('input[name=repeat]', 'ui-first-password-2');
    await newcomer.click('button[type=submit]');
    await newcomer.getByRole('alert').filter({ hasText: 'differ' }).waitFor();
    await newcomer.screenshot({ path: path.join(artifacts, 'dashboard-set-password.png') });
    await newcomer.fill('input[name=repeat]', 'ui-first-password-1');
    await newcomer.click('button[type=submit]');
    await newcomer.getByTestId('connection').filter({ hasText: 'live' }).waitFor({ timeout: 15_000 });
    expect(newcomer.url()).not.toContain('set-password');
    await newcomer.screenshot({ path: path.join(artifacts, 'dashboard-first-admin.png') });
    expect((await sys.post(`/admin/tenants/${id}/suspend`, { reason: 'ui test' })).status).toBe(200);
    // The server closes the live stream at once; the page finds its token refused and asks to sign in again.
    await newcomer.locator('form.login input[name=email]').waitFor({ timeout: 5000 });
    await newcomer.close();
  });
});
