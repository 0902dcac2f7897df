import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { changedRows } from '../database/changed-rows.js';
import { tenantOf } from './tenants.repository.js';
import { declareExempt } from '../retention/table-lifetimes.js';

/** A scanner device's token, or an integration's API key: the two tables differ only by integration_id. */
export type CredentialKind = 'device' | 'api_key';

// Table names: persistent contracts, chosen here from the kind, never from input.
const TABLE: Record<CredentialKind, string> = { device: 'device_tokens', api_key: 'api_keys' };

export interface NewCredential {
  id: string;
  tenantId: string;
  name: string;
  tokenHash: string;
  warehouses: string[];
  createdBy: string;
  /** Set for an API key, absent for a device token. */
  integrationId?: string;
}

/** What a live credential grants. */
export interface CredentialAccess {
  id: string;
  tenantId: string;
  warehouses: string[];
  /** null for a device token. */
  integrationId: string | null;
}

for (const table of ['device_tokens', 'api_keys'])
  declareExempt(table, 'one row per credential ever issued; revoked ones say who issued and revoked what');

/** Owns `device_tokens` and `api_keys`: opaque credentials of devices and integrations, only their SHA-256 kept. */
@Injectable()
export class CredentialsRepository {
  constructor(private readonly db: DataSource) {}

  async insert(m: EntityManager, c: NewCredential): Promise<void> {
    const values = [c.id, c.tenantId, c.name, c.tokenHash, c.warehouses, c.createdBy];
    if (c.integrationId)
      await m.query(
        `INSERT INTO api_keys (id, tenant_id, name, token_hash, warehouses, created_by, integration_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [...values, c.integrationId],
      );
    else
      await m.query(
        `INSERT INTO device_tokens (id, tenant_id, name, token_hash, warehouses, created_by)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        values,
      );
  }

  /** An API key of the tenant that is not revoked, or null. */
  async activeApiKey(
    tenantId: string,
    id: string,
  ): Promise<{ name: string; warehouses: string[]; integrationId: string } | null> {
    const [row]: { name: string; warehouses: string[]; integration_id: string }[] = await this.db.query(
      `SELECT name, warehouses, integration_id
       FROM api_keys
       WHERE id = $1 AND tenant_id = $2 AND revoked_at IS NULL`,
      [id, tenantId],
    );
    return row ? { name: row.name, warehouses: row.warehouses, integrationId: row.integration_id } : null;
  }

  /** Revokes a live credential of the tenant; false when there is none with this id. */
  async revoke(m: EntityManager, kind: CredentialKind, tenantId: string, id: string): Promise<boolean> {
    const rows = await changedRows(
      m,
      `UPDATE ${TABLE[kind]}
       SET revoked_at = now()
       WHERE id = $1 AND tenant_id = $2 AND revoked_at IS NULL
       RETURNING id`,
      [id, tenantId],
    );
    return rows.length > 0;
  }

  /** The live credential with this token hash whose tenant is not suspended, or null. */
  async accessByHash(kind: CredentialKind, tokenHash: string): Promise<CredentialAccess | null> {
    const [row]: { id: string; tenant_id: string; warehouses: string[]; integration_id: string | null }[] =
      await this.db.query(
        `SELECT c.id, c.tenant_id, c.warehouses, ${kind === 'api_key' ? 'c.integration_id' : 'NULL AS integration_id'}
         FROM ${TABLE[kind]} c
         WHERE c.token_hash = $1
           AND c.revoked_at IS NULL
           AND ${tenantOf.active('c.tenant_id')}`,
        [tokenHash],
      );
    return row
      ? { id: row.id, tenantId: row.tenant_id, warehouses: row.warehouses, integrationId: row.integration_id }
      : null;
  }
}
