/**
 * The benchmark CSV: one row per measurement, appended to `reports/bench.csv` so figures from
 * different days, Node versions and machines sit side by side. The header is written when the
 * file is new; a file with another header is refused rather than mixed.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'csv-stringify/sync';
import { formatTarget, meetsTarget, type Measurement } from './benchmark.js';

/** `reports/bench.csv` at the package root, wherever the process was started. */
export const BENCH_CSV_PATH = fileURLToPath(new URL('../../reports/bench.csv', import.meta.url));

export const BENCH_COLUMNS = ['date', 'node', 'machine', 'figure', 'value', 'unit', 'target', 'meets_target'] as const;

export interface BenchRow {
  /** ISO 8601, UTC. */
  readonly date: string;
  /** `process.version`, e.g. `v20.20.2`. */
  readonly node: string;
  /** CPU model and core count: `AMD EPYC 7B13 x 2`. */
  readonly machine: string;
  readonly figure: string;
  readonly value: number;
  readonly unit: string;
  /** `>= 4000000`, or empty when the figure has no target. */
  readonly target: string;
  /** `true`/`false`, or empty when the figure has no target. */
  readonly meets_target: 'true' | 'false' | '';
}

/** Where and when a batch of figures was taken. */
export interface BenchEnvironment {
  readonly date: string;
  readonly node: string;
  readonly machine: string;
}

export function benchEnvironment(): BenchEnvironment {
  const cores = cpus();
  const model = cores[0]?.model.trim() ?? 'unknown CPU';
  return { date: new Date().toISOString(), node: process.version, machine: `${model} x ${cores.length}` };
}

export function benchRow(measurement: Measurement, environment: BenchEnvironment): BenchRow {
  const meets = meetsTarget(measurement);
  return {
    ...environment,
    figure: measurement.figure,
    value: measurement.value,
    unit: measurement.unit,
    target: formatTarget(measurement.target),
    meets_target: meets === null ? '' : meets ? 'true' : 'false',
  };
}

/** Append rows (header first when the file is new or empty). */
export function appendBenchRows(rows: readonly BenchRow[], path: string = BENCH_CSV_PATH): void {
  if (rows.length === 0) return;
  const header = stringify([[...BENCH_COLUMNS]]);
  const fresh = !existsSync(path) || readFileSync(path, 'utf8').length === 0;
  if (fresh) {
    mkdirSync(dirname(path), { recursive: true });
  } else {
    const firstLine = readFileSync(path, 'utf8').split('\n', 1)[0];
    if (`${firstLine}\n` !== header) throw new Error(`${path} has the header "${firstLine}", expected "${header.trim()}"; move it aside`);
  }
  const body = stringify(
    rows.map((row) => BENCH_COLUMNS.map((column) => row[column])),
    { cast: { number: (value) => String(value) } },
  );
  appendFileSync(path, fresh ? header + body : body);
}
