/**
 * The failing-seed store (reports/failing-seeds.json): the shrunk `{ seed, path }` of every
 * recent failure, per suite and endpoint. The next `run` of that suite against that endpoint
 * replays them first, before generating anything new — Hypothesis's example database, which
 * fast-check lacks. An entry that passes again is dropped; one that still fails stays.
 */
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { parseOrThrow } from './errors.js';
import { parseUserJson, readUserFile, writeFileAtomic } from './fs.js';
import { pathSchema } from './options.js';

/** At most this many entries per suite and endpoint: the store stays small. */
export const STORE_ENTRIES_PER_KEY = 10;

const entrySchema = z.object({
  suite: z.string().min(1),
  endpoint: z.string().min(1),
  seed: z.int().min(-(2 ** 31)).max(2 ** 31 - 1),
  path: pathSchema,
  /** The monitor that failed, for the reader. */
  monitor: z.string(),
});

const storeSchema = z.object({
  format: z.literal('timewait-failing-seeds'),
  version: z.literal(1),
  entries: z.array(entrySchema),
});

export type StoreEntry = z.output<typeof entrySchema>;

export function loadStore(path: string): StoreEntry[] {
  if (!existsSync(path)) return [];
  const text = readUserFile(path, 'failing-seed store');
  const store = parseOrThrow(storeSchema, parseUserJson(text, path, 'failing-seed store'), `failing-seed store ${path} (delete it or pass --no-store)`);
  return store.entries;
}

export function saveStore(path: string, entries: readonly StoreEntry[]): void {
  writeFileAtomic(path, `${JSON.stringify({ format: 'timewait-failing-seeds', version: 1, entries }, null, 2)}\n`);
}

function sameKey(a: StoreEntry, b: StoreEntry): boolean {
  return a.suite === b.suite && a.endpoint === b.endpoint;
}

function sameEntry(a: StoreEntry, b: StoreEntry): boolean {
  return sameKey(a, b) && a.seed === b.seed && a.path === b.path;
}

/**
 * The store after a run: entries of other suites/endpoints untouched; of those retried, the ones
 * still failing; then the new failures; at most STORE_ENTRIES_PER_KEY per suite and endpoint,
 * newest kept.
 */
export function updateStore(previous: readonly StoreEntry[], retried: readonly StoreEntry[], stillFailing: readonly StoreEntry[], found: readonly StoreEntry[]): StoreEntry[] {
  const untouched = previous.filter((e) => !retried.some((r) => sameEntry(r, e)));
  const merged: StoreEntry[] = [];
  for (const entry of [...untouched, ...stillFailing, ...found]) {
    const existing = merged.findIndex((e) => sameEntry(e, entry));
    if (existing >= 0) merged.splice(existing, 1);
    merged.push(entry);
  }
  const kept: StoreEntry[] = [];
  for (let i = merged.length - 1; i >= 0; i--) {
    const entry = merged[i]!;
    if (kept.filter((e) => sameKey(e, entry)).length < STORE_ENTRIES_PER_KEY) kept.unshift(entry);
  }
  return kept;
}
