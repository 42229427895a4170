/**
 * Counterexample files (reports/counterexample-….json): one failure, shrunk, with the command
 * that replays it. `timewait replay --from FILE` reads them back; the schema below checks them
 * so a hand-edited or truncated file gets a clear message, not a crash.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { CLOSE_ORDERS, type RunSpec } from '../scenario/spec.js';
import type { FailureRecord } from './campaign.js';
import { parseOrThrow } from './errors.js';
import { parseUserJson, readUserFile } from './fs.js';
import { pathSchema } from './options.js';

const int = z.int();
const nonNegative = z.int().min(0);

/** Loose: fields a newer generator adds are kept, so the saved scenario runs as it was. */
const runSpecSchema = z.looseObject({
  seed: int,
  mslUs: z.int().min(1),
  delayedAckUs: nonNegative,
  isn: z.enum(['rfc6528', 'random', 'fixed']),
  clients: z.int().min(1),
  servers: z.int().min(1),
  connections: z.array(
    z.object({
      client: nonNegative,
      server: nonNegative,
      startUs: nonNegative,
      requestBytes: nonNegative,
      responseBytes: nonNegative,
      closeOrder: z.enum(CLOSE_ORDERS as [string, ...string[]]),
      passiveCloseDelayUs: nonNegative,
      incarnations: z.int().min(1),
      gapUs: nonNegative,
      clientReuseAddr: z.boolean(),
      serverReuseAddr: z.boolean(),
      flowKey: int.optional(),
    }),
  ),
  faults: z.object({
    delayUs: nonNegative,
    jitterUs: nonNegative,
    lossPermille: z.int().min(0).max(1000),
    burst: z.object({ enterBadRate: z.number().min(0).max(1), leaveBadRate: z.number().min(0).max(1), lossRateBad: z.number().min(0).max(1) }).nullable(),
    duplicatePermille: z.int().min(0).max(1000),
    reorderPermille: z.int().min(0).max(1000),
    reorderDelayUsMax: nonNegative,
    oldDuplicatePermille: z.int().min(0).max(1000),
    oldDuplicateDelayUsMax: nonNegative,
    partitions: z.array(z.object({ direction: z.enum(['to-server', 'to-client', 'both']), fromUs: nonNegative, toUs: nonNegative })),
  }),
  faultsEndUs: nonNegative,
  enforceMsl: z.boolean(),
  rfc1337: z.boolean(),
  timestamps: z.union([z.literal(0), z.literal(1), z.literal(2)]).optional(),
  sack: z.boolean().optional(),
});

export const counterexampleSchema = z.object({
  format: z.literal('timewait-counterexample'),
  version: z.literal(1),
  suite: z.string().min(1),
  endpoint: z.string().min(1),
  seed: z.int().min(-(2 ** 31)).max(2 ** 31 - 1),
  path: pathSchema,
  campaignSeed: z.int().nullable(),
  chunk: z.int().nullable(),
  runPath: z.string(),
  numShrinks: nonNegative,
  violations: z.array(z.object({ monitor: z.string(), claims: z.array(z.string()), message: z.string() }).loose()),
  replay: z.string(),
  spec: runSpecSchema,
});

export type CounterexampleFile = z.output<typeof counterexampleSchema>;

export function counterexampleJson(failure: FailureRecord, replayCommand: string): string {
  const file = {
    format: 'timewait-counterexample',
    version: 1,
    suite: failure.suite,
    endpoint: failure.endpoint,
    seed: failure.seed,
    path: failure.path,
    campaignSeed: failure.campaignSeed,
    chunk: failure.chunk,
    runPath: failure.runPath,
    numShrinks: failure.numShrinks,
    violations: failure.violations,
    replay: replayCommand,
    spec: failure.spec,
  };
  return `${JSON.stringify(file, null, 2)}\n`;
}

/** `counterexample-<suite>-<endpoint>-<seed>-<run>.json` in the reports directory. */
export function counterexamplePath(reportsDir: string, failure: FailureRecord): string {
  return join(reportsDir, `counterexample-${failure.suite}-${failure.endpoint}-${failure.seed}-${failure.runPath}.json`);
}

export function loadCounterexample(path: string): CounterexampleFile & { spec: RunSpec } {
  const text = readUserFile(path, 'counterexample file');
  return parseOrThrow(counterexampleSchema, parseUserJson(text, path, 'counterexample file'), `counterexample file ${path}`) as CounterexampleFile & { spec: RunSpec };
}

/** JSON with object keys sorted: equal for equal values whatever order keys were written in. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}
