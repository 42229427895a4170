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

/** fast-check's replay path: run index, then shrink steps, colon-separated (`12:0:3`). */
export const pathSchema = z
  .string()
  .trim()
  .regex(/^\d{1,9}(:\d{1,9})*$/, { error: 'expected a fast-check path: numbers separated by colons, like 12 or 12:0:3' });

export const suiteNameSchema = z.enum(SUITES.map((s) => s.name) as [string, ...string[]], { error: `expected a suite name: ${SUITES.map((s) => s.name).join(', ')} (timewait list shows them)` });

export const endpointNameSchema = z.enum(ENDPOINT_NAMES as [string, ...string[]], { error: `expected an endpoint: ${ENDPOINT_NAMES.join(', ')} (timewait list shows them)` });

const positiveInt = (what: string, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, { error: `expected ${what}` })
    .refine((text) => Number(text) >= 1 && Number(text) <= max, { error: `expected ${what} from 1 to ${max}` })
    .transform(Number);

export const runsSchema = positiveInt('a positive number of runs', 10_000_000);
export const workersSchema = positiveInt('a positive number of worker threads', 256);

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

/** TIMEWAIT_RUNS_SCALE multiplies every suite's default run count. */
export const envSchema = z.object({
  TIMEWAIT_RUNS_SCALE: z
    .string()
    .trim()
    .regex(/^\d*\.?\d+(e[-+]?\d+)?$/i, { error: 'expected a positive number, like 0.1 or 10' })
    .refine((text) => Number(text) > 0 && Number.isFinite(Number(text)), { error: 'expected a positive number, like 0.1 or 10' })
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
