import { Injectable } from '@nestjs/common';
import { changedRows, declareExempt, declareUnique } from '@wms/events';
import type { EntityManager } from 'typeorm';
import { hasRow, lockedStatus } from '../common/sql.js';

// Two scanners creating one ASN number at once: the second gets the duplicate's 409.
declareUnique('asns_pkey', 'ASN.EXISTS', 'asnNumber');

/** One ASN of one warehouse. */
export interface AsnRef {
  tenantId: string;
  warehouseId: string;
  asnNumber: string;
}

export interface AsnLineRow {
  sku: string;
  expected: number;
  received: number;
  damaged: number;
}

const ASN = `tenant_id = $1 AND warehouse_code = $2 AND number = $3`;
const LINES = `tenant_id = $1 AND warehouse_code = $2 AND asn_number = $3`;
const ref = (a: AsnRef) => [a.tenantId, a.warehouseId, a.asnNumber];

for (const table of ['asns', 'asn_lines'])
  declareExempt(table, "inbound warehouse records: their lifetime is the business's, not a pruning job's");

/** Owns the tables `asns` and `asn_lines`: advance shipping notices and what was expected and received per SKU. */
@Injectable()
export class AsnsRepository {
  exists(m: EntityManager, asn: AsnRef): Promise<boolean> {
    return hasRow(m, `SELECT 1 FROM asns WHERE ${ASN}`, ref(asn));
  }

  /** Creates an open ASN, without lines. */
  async create(m: EntityManager, asn: AsnRef, supplierCode: string): Promise<void> {
    await m.query(
      `INSERT INTO asns (tenant_id, warehouse_code, number, supplier_code)
       VALUES ($1, $2, $3, $4)`,
      [...ref(asn), supplierCode],
    );
  }

  /** The units expected per SKU. */
  async addLines(m: EntityManager, asn: AsnRef, expected: Map<string, number>): Promise<void> {
    for (const [sku, quantity] of expected) {
      await m.query(
        `INSERT INTO asn_lines (tenant_id, warehouse_code, asn_number, sku, expected)
         VALUES ($1, $2, $3, $4, $5)`,
        [...ref(asn), sku, quantity],
      );
    }
  }

  /** The ASN's status, locked until commit; undefined when there is no such ASN. */
  lockStatus(m: EntityManager, asn: AsnRef): Promise<string | undefined> {
    return lockedStatus(m, 'asns', ASN, ref(asn));
  }

  /** Adds received and damaged units to the SKU's line (a line expecting 0 when the ASN did not list it). */
  async addReceipt(m: EntityManager, asn: AsnRef, sku: string, received: number, damaged: number): Promise<AsnLineRow> {
    const [line] = await m.query(
      `INSERT INTO asn_lines (tenant_id, warehouse_code, asn_number, sku, expected, received, damaged)
       VALUES ($1, $2, $3, $4, 0, $5, $6)
       ON CONFLICT (tenant_id, warehouse_code, asn_number, sku)
       DO UPDATE SET received = asn_lines.received + $5, damaged = asn_lines.damaged + $6
       RETURNING sku, expected, received, damaged`,
      [...ref(asn), sku, received, damaged],
    );
    return line;
  }

  /** Closes an open ASN; false when it is not open (closed already, or no such ASN). */
  async close(m: EntityManager, asn: AsnRef): Promise<boolean> {
    const rows = await changedRows(
      m,
      `UPDATE asns
       SET status = 'closed'
       WHERE ${ASN} AND status = 'open'
       RETURNING number`,
      ref(asn),
    );
    return rows.length > 0;
  }

  /** Lines with fewer units received (good or damaged) than expected, by SKU. */
  shortLines(m: EntityManager, asn: AsnRef): Promise<AsnLineRow[]> {
    return m.query(
      `SELECT sku, expected, received, damaged
       FROM asn_lines
       WHERE ${LINES} AND received + damaged < expected
       ORDER BY sku`,
      ref(asn),
    );
  }
}
