import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip, createGzip } from 'node:zlib';
import type { PartitionContent } from '../store/event-partitions.js';

/**
 * The archive on disk, one directory per partition in ARCHIVE_DIR:
 *
 *   <partition>/events-0000.ndjson.gz …   gzip'd NDJSON, one event per line (the row as Postgres' `to_jsonb`, UTC),
 *                                          in id order, at most FILE_EVENTS (about) per file
 *   <partition>/manifest.json              written last, once every file was read back and matched the partition
 *
 * Every file is written as `<name>.tmp`, flushed to disk and renamed, so a file that exists is whole; a partition
 * whose manifest is missing was stopped half-way and is archived again. Persistent contract: restore reads old
 * archives by this format (MANIFEST_FORMAT says which).
 */
export const MANIFEST_FORMAT = 'wms-event-archive/1';
const MANIFEST = 'manifest.json';
/** Events per file (a file ends at the page that reaches it). */
export const FILE_EVENTS = 1_000_000;
export const archiveFileName = (n: number) => `events-${String(n).padStart(4, '0')}.ndjson.gz`;

export interface ArchiveFile {
  name: string;
  sha256: string;
  bytes: number;
  events: number;
  firstId: string;
  lastId: string;
}

export interface ArchiveManifest extends Required<PartitionContent> {
  format: typeof MANIFEST_FORMAT;
  partition: string;
  /** The partition's id range: from (null = MINVALUE) inclusive, to exclusive. */
  bounds: { from: string | null; to: string };
  /** How `checksum` is made, so it can be recomputed from the files or the table. */
  checksumOf: string;
  bytes: number;
  files: ArchiveFile[];
  archivedAt: string;
}

export const CHECKSUM_OF =
  "sum over the lines of the first 64 bits of md5(line) as a signed integer; in SQL sum(('x' || left(md5(to_jsonb(e)::text), 16))::bit(64)::bigint)";

/** A line's share of the content checksum: the first 64 bits of its MD5, signed (as Postgres' bit(64)::bigint). */
const lineHash = (line: string): bigint =>
  BigInt.asIntN(64, BigInt('0x' + createHash('md5').update(line).digest('hex').slice(0, 16)));

/** Counts what lines hold, the same way over the rows read from Postgres and the lines read back from a file. */
export class ContentTally {
  events = 0;
  tenants: Record<string, number> = {};
  firstId: string | null = null;
  lastId: string | null = null;
  private sum = 0n;

  /** Lines must come in increasing id order (a file in order cannot hold an event twice). */
  add(id: string, tenantId: string, line: string): void {
    if (this.lastId !== null && id <= this.lastId) throw new Error(`event ${id} is out of order after ${this.lastId}`);
    this.firstId ??= id;
    this.lastId = id;
    this.events++;
    this.tenants[tenantId] = (this.tenants[tenantId] ?? 0) + 1;
    this.sum += lineHash(line);
  }

  content(): Required<PartitionContent> {
    return {
      events: this.events,
      tenants: this.tenants,
      firstId: this.firstId,
      lastId: this.lastId,
      checksum: this.sum.toString(),
    };
  }
}

/** Where two descriptions of a partition's events differ, in words; empty when they agree. */
export function contentDifferences(
  archived: PartitionContent,
  stored: PartitionContent,
  what = 'the partition',
): string[] {
  const problems: string[] = [];
  if (archived.events !== stored.events)
    problems.push(`${archived.events} event(s) archived, ${stored.events} in ${what}`);
  for (const tenant of new Set([...Object.keys(archived.tenants), ...Object.keys(stored.tenants)])) {
    const a = archived.tenants[tenant] ?? 0;
    const s = stored.tenants[tenant] ?? 0;
    if (a !== s) problems.push(`tenant ${tenant}: ${a} archived, ${s} in ${what}`);
  }
  if (archived.firstId !== stored.firstId || archived.lastId !== stored.lastId)
    problems.push(`ids ${archived.firstId}…${archived.lastId} archived, ${stored.firstId}…${stored.lastId} in ${what}`);
  if (archived.checksum !== undefined && stored.checksum !== undefined && archived.checksum !== stored.checksum)
    problems.push(`content checksum ${archived.checksum} archived, ${stored.checksum} in ${what}`);
  return problems;
}

/** Makes renames and new files in `dir` durable. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  await handle.sync().finally(() => handle.close());
}

/** Writes `file` whole or not at all: into `<file>.tmp`, flushed to disk, then renamed. */
async function writeWhole(file: string, write: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = `${file}.tmp`;
  await write(tmp);
  const handle = await open(tmp, 'r+');
  await handle.sync().finally(() => handle.close());
  await rename(tmp, file);
  await syncDir(path.dirname(file));
}

/** Counts and hashes the bytes going by. */
class ByteTap extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _: BufferEncoding, done: () => void): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.push(chunk);
    done();
  }
}

/** One partition's directory in the archive. */
export class PartitionArchive {
  readonly dir: string;

  constructor(
    root: string,
    readonly partition: string,
  ) {
    this.dir = path.resolve(root, partition);
  }

  file(name: string): string {
    return path.join(this.dir, name);
  }

  /** The manifest, or null when there is none (never archived, or stopped before it was written). */
  async manifest(): Promise<ArchiveManifest | null> {
    const text = await readFile(this.file(MANIFEST), 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return null;
      throw e;
    });
    if (text === null) return null;
    const manifest = JSON.parse(text) as ArchiveManifest;
    if (manifest.format !== MANIFEST_FORMAT)
      throw new Error(`${this.file(MANIFEST)}: unknown archive format ${manifest.format}`);
    return manifest;
  }

  /**
   * Starts over in an empty directory. What a run left unfinished (no manifest) is removed; a complete archive is
   * never deleted — it is moved aside to `<partition>.superseded-<time>` (restore still reads it).
   */
  async clear(): Promise<void> {
    if (await this.manifest().catch(() => null)) await rename(this.dir, `${this.dir}.superseded-${Date.now()}`);
    await mkdir(this.dir, { recursive: true });
    for (const name of await readdir(this.dir)) await rm(this.file(name), { force: true });
  }

  /** Writes one data file from pages of lines (bounded memory: gzip streams them out as they come). */
  async writeFile(name: string, pages: AsyncIterable<string>): Promise<{ sha256: string; bytes: number }> {
    const tap = new ByteTap();
    await writeWhole(this.file(name), (tmp) =>
      pipeline(Readable.from(pages), createGzip(), tap, createWriteStream(tmp)),
    );
    return { sha256: tap.hash.digest('hex'), bytes: tap.bytes };
  }

  async writeManifest(manifest: ArchiveManifest): Promise<void> {
    await writeWhole(this.file(MANIFEST), (tmp) => writeFile(tmp, JSON.stringify(manifest, null, 2) + '\n'));
  }

  /** The SHA-256 and size of a file as it is on disk. */
  async sha256(name: string): Promise<{ sha256: string; bytes: number }> {
    const tap = new ByteTap();
    await pipeline(createReadStream(this.file(name)), tap, async (source: AsyncIterable<Buffer>) => {
      for await (const _ of source) void _;
    });
    return { sha256: tap.hash.digest('hex'), bytes: tap.bytes };
  }

  /** Each line of a data file, decompressed (restore); a damaged file throws. */
  async *lines(name: string): AsyncGenerator<string> {
    const gunzip = createGunzip();
    createReadStream(this.file(name))
      .on('error', (e) => gunzip.destroy(e))
      .pipe(gunzip);
    yield* splitLines(gunzip);
  }

  /** Reads a data file back: its bytes' SHA-256, and what its lines hold (added to `tally`); a damaged file throws. */
  async readBack(name: string, tally: ContentTally): Promise<{ sha256: string; bytes: number; events: number }> {
    const tap = new ByteTap();
    const before = tally.events;
    await pipeline(createReadStream(this.file(name)), tap, createGunzip(), async (source: AsyncIterable<Buffer>) => {
      for await (const line of splitLines(source)) {
        const { id, tenant_id } = JSON.parse(line) as { id: string; tenant_id: string };
        tally.add(id, tenant_id, line);
      }
    });
    return { sha256: tap.hash.digest('hex'), bytes: tap.bytes, events: tally.events - before };
  }
}

/** The non-empty lines of a UTF-8 byte stream (a character split across chunks is joined first). */
async function* splitLines(source: AsyncIterable<Buffer>): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  for await (const chunk of source) {
    const lines = (rest + decoder.write(chunk)).split('\n');
    rest = lines.pop()!;
    for (const line of lines) if (line) yield line;
  }
  rest += decoder.end();
  if (rest) yield rest;
}

/** Every partition directory of the archive that has a manifest. */
export async function archivedPartitions(root: string): Promise<PartitionArchive[]> {
  const names = await readdir(path.resolve(root)).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return [] as string[];
    throw e;
  });
  const found: PartitionArchive[] = [];
  for (const name of names.sort()) {
    const archive = new PartitionArchive(root, name);
    if (await archive.manifest().catch(() => null)) found.push(archive);
  }
  return found;
}
