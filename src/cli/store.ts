/**
 * The failing-seed store (reports/failing-seeds.json): the shrunk `{ seed, path }` of every
 * recent failure, per suite and endpoint. The next `run` of that suite against that endpoint
 * replays them first, before generating anything new — Hypothesis's example database, which
 * fast-check lacks. An entry that passes again is dropped; one that still fails stays.
 */
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { formatZodError, parseOrThrow } from './errors.js';
import { parseUserJson, readUserFile } from './fs.js';
import { writeOutput, type OutputTarget } from './output.js';
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

/** The file around the entries; each entry is then checked on its own. */
const storeSchema = z.object({
  format: z.literal('timewait-failing-seeds'),
  version: z.literal(1),
  entries: z.array(z.unknown()),
});

export type StoreEntry = z.output<typeof entrySchema>;

export interface LoadedStore {
  /** Valid entries, each once, in the order first seen. */
  readonly entries: StoreEntry[];
  /** One line per entry skipped (malformed, or a copy of an earlier one): reported, never fatal. */
  readonly skipped: string[];
}

/**
 * Read the store. An entry that is malformed is reported and skipped; copies of an entry are
 * dropped (a store with 10,000 copies of one entry retries it once). A file that is not a store
 * at all (bad JSON, wrong format) is bad input: the user must delete it or pass --no-store.
 */
export function loadStore(path: string): LoadedStore {
  if (!existsSync(path)) return { entries: [], skipped: [] };
  const text = readUserFile(path, 'failing-seed store');
  const store = parseOrThrow(storeSchema, parseUserJson(text, path, 'failing-seed store'), `failing-seed store ${path} (delete it or pass --no-store)`);
  const entries: StoreEntry[] = [];
  const skipped: string[] = [];
  const seen = new Set<string>();
  let copies = 0;
  store.entries.forEach((raw, i) => {
    const parsed = entrySchema.safeParse(raw, { reportInput: true });
    if (!parsed.success) {
      skipped.push(`entries[${i}] skipped: ${formatZodError(parsed.error, '').split('\n')[0]}`);
      return;
    }
    const key = entryKey(parsed.data);
    if (seen.has(key)) {
      copies++;
      return;
    }
    seen.add(key);
    entries.push(parsed.data);
  });
  if (copies > 0) skipped.push(`${copies} cop${copies === 1 ? 'y' : 'ies'} of entries already in the store dropped`);
  return { entries, skipped };
}

export function saveStore(target: OutputTarget, entries: readonly StoreEntry[]): void {
  writeOutput(target, `${JSON.stringify({ format: 'timewait-failing-seeds', version: 1, entries }, null, 2)}\n`);
}

function entryKey(e: StoreEntry): string {
  return `${e.suite}\u0000${e.endpoint}\u0000${e.seed}\u0000${e.path}`;
}

/**
 * The store after a run: entries of other suites/endpoints untouched; of those retried, the ones
 * still failing; then the new failures; at most STORE_ENTRIES_PER_KEY per suite and endpoint,
 * newest kept.
 */
export function updateStore(previous: readonly StoreEntry[], retried: readonly StoreEntry[], stillFailing: readonly StoreEntry[], found: readonly StoreEntry[]): StoreEntry[] {
  const retriedKeys = new Set(retried.map(entryKey));
  const untouched = previous.filter((e) => !retriedKeys.has(entryKey(e)));
  // Later copies win their place (newest last); a Map keeps insertion order.
  const merged = new Map<string, StoreEntry>();
  for (const entry of [...untouched, ...stillFailing, ...found]) {
    merged.delete(entryKey(entry));
    merged.set(entryKey(entry), entry);
  }
  const all = [...merged.values()];
  const perKey = new Map<string, number>();
  const kept: StoreEntry[] = [];
  for (let i = all.length - 1; i >= 0; i--) {
    const entry = all[i]!;
    const key = `${entry.suite}\u0000${entry.endpoint}`;
    const n = perKey.get(key) ?? 0;
    if (n < STORE_ENTRIES_PER_KEY) kept.unshift(entry);
    perKey.set(key, n + 1);
  }
  return kept;
}
