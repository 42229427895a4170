/**
 * Every command-line value the CLI accepts, declared once as zod schemas: commander hands over
 * strings, these check and convert them, and a failure names the flag and what was expected.
 */
import { z } from 'zod';
import { SUITES } from '../suites.js';
import { ENDPOINT_NAMES } from './endpoints.js';

/** fast-check seeds are 32-bit signed integers. */
export const SEED_MIN = -(2 ** 31);
export const SEED_MAX = 2 ** 31 - 1;

const SEED_EXPECTED = `expected an integer from ${SEED_MIN} to ${SEED_MAX}`;

export const seedSchema = z
  .string()
  .trim()
  .regex(/^-?\d+$/, { error: SEED_EXPECTED })
  .refine((text) => Number(text) >= SEED_MIN && Number(text) <= SEED_MAX, { error: SEED_EXPECTED })
  .transform(Number);

/** `--seed` on `run`: a seed, or `random` (a fresh one, printed first). */
export const campaignSeedSchema = z.union([z.literal('random'), seedSchema], { error: `${SEED_EXPECTED}, or "random"` });

/**
 * Bounds of a replay path: fast-check regenerates every value up to the run index and walks
 * every shrink step, so an unbounded path (`999999999`) would take hours. A campaign's runs
 * have indexes below 50 (CHUNK_RUNS) and shrink in far fewer steps than the bound.
 */
export const PATH_RUN_INDEX_MAX = 99_999;
export const PATH_SHRINK_STEPS_MAX = 1_000;

/** fast-check's replay path: run index, then shrink steps, colon-separated (`12:0:3`). */
export const pathSchema = z
  .string()
  .trim()
  .regex(new RegExp(`^\\d{1,5}(:\\d{1,5}){0,${PATH_SHRINK_STEPS_MAX}}$`), {
    error: `expected a fast-check path: numbers below ${PATH_RUN_INDEX_MAX + 1} separated by colons, like 12 or 12:0:3, at most ${PATH_SHRINK_STEPS_MAX} shrink steps`,
  });

export const suiteNameSchema = z.enum(SUITES.map((s) => s.name) as [string, ...string[]], { error: `expected a suite name: ${SUITES.map((s) => s.name).join(', ')} (timewait list shows them)` });

export const endpointNameSchema = z
  .string()
  .refine((name) => ENDPOINT_NAMES.includes(name) || /^stack:\S/.test(name), { error: `expected an endpoint: ${ENDPOINT_NAMES.join(', ')}, or stack:COMMAND for an external stack (timewait list shows them)` });

const positiveInt = (what: string, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, { error: `expected ${what}` })
    .refine((text) => Number(text) >= 1 && Number(text) <= max, { error: `expected ${what} from 1 to ${max}` })
    .transform(Number);

/** Matches campaign.ts WORKERS_MAX: more threads gain nothing and cost memory. */
export const WORKERS_MAX = 64;
export const workersSchema = positiveInt('a positive number of worker threads', WORKERS_MAX);

export interface Shard {
  readonly index: number;
  readonly count: number;
}

export const shardSchema = z
  .string()
  .trim()
  .regex(/^\d+\/\d+$/, { error: 'expected i/n, like 0/4 (shard i of n, counting from 0)' })
  .refine((text) => shardOf(text).count >= 1 && shardOf(text).count <= 10_000, { error: 'expected 1 to 10000 shards' })
  .refine((text) => shardOf(text).index < shardOf(text).count, { error: 'expected a shard index below the shard count (shards count from 0: 0/4 … 3/4)' })
  .transform(shardOf);

function shardOf(text: string): Shard {
  const [index, count] = text.split('/').map(Number) as [number, number];
  return { index, count };
}

export const formatSchema = z.enum(['text', 'json', 'pcap'], { error: 'expected text, json or pcap' });

/** Most runs per suite: `--runs`, and a suite's default times TIMEWAIT_RUNS_SCALE. */
export const RUNS_MAX = 10_000_000;
/** The largest scale keeps the largest suite within RUNS_MAX. */
export const RUNS_SCALE_MAX = Math.floor(RUNS_MAX / Math.max(...SUITES.map((s) => s.defaultRuns)));

export const runsSchema = positiveInt('a positive number of runs', RUNS_MAX);

const RUNS_SCALE_EXPECTED = `expected a positive number up to ${RUNS_SCALE_MAX}, like 0.1 or 10 (the largest suite then has ${RUNS_MAX} runs)`;

/** TIMEWAIT_RUNS_SCALE multiplies every suite's default run count. */
export const envSchema = z.object({
  TIMEWAIT_RUNS_SCALE: z
    .string()
    .trim()
    .regex(/^\d*\.?\d+(e[-+]?\d+)?$/i, { error: RUNS_SCALE_EXPECTED })
    .refine((text) => Number(text) > 0 && Number(text) <= RUNS_SCALE_MAX, { error: RUNS_SCALE_EXPECTED })
    .transform(Number)
    .optional(),
});

/** `seed` -> `--seed`, for error messages about options. */
export function flagName(path: string): string {
  const key = path.split(/[.[]/)[0] ?? path;
  if (key === '') return path;
  if (key.startsWith('TIMEWAIT_')) return key;
  if (key === 'suites') return 'SUITE argument';
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}
