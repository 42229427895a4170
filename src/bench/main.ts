/**
 * `npm run bench [-- <filter>...]`: run the registered benchmarks (all of them, or those whose
 * name contains one of the filters), print a table and append one row per figure to
 * `reports/bench.csv`. A missed target is printed and recorded, and sets the exit code to 1 so
 * CI can notice; it never fails a test.
 *
 * Memory figures need `global.gc`: `npm run bench` passes `--expose-gc`, and started without
 * it, this script starts itself again with it.
 *
 * To add a benchmark: write a module exporting a `Benchmark` (see benchmark.ts) and add it to
 * `BENCHMARKS` below.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { meetsTarget, type Benchmark, type Measurement } from './benchmark.js';
import { appendBenchRows, benchEnvironment, benchRow, BENCH_CSV_PATH } from './csv.js';
import { externalBenchmark } from './external.js';
import { campaignMemoryBenchmark } from './campaign-memory.js';
import { lifecycleBenchmark } from './lifecycle.js';
import { memoryBenchmark } from './memory.js';
import { portExhaustionBenchmark } from './port-exhaustion.js';
import { propertyBenchmark } from './property.js';
import { schedulerBenchmark } from './scheduler.js';
import { workersBenchmark } from './workers.js';

/** Every benchmark, in the order they run. */
export const BENCHMARKS: readonly Benchmark[] = [schedulerBenchmark, lifecycleBenchmark, memoryBenchmark, propertyBenchmark, workersBenchmark, externalBenchmark, portExhaustionBenchmark, campaignMemoryBenchmark];

async function main(argv: readonly string[]): Promise<number> {
  const filters = argv.filter((arg) => arg !== '--');
  const chosen = filters.length === 0 ? BENCHMARKS : BENCHMARKS.filter((b) => filters.some((f) => b.name.includes(f)));
  if (chosen.length === 0) {
    console.error(`no benchmark matches ${filters.join(', ')}; there are: ${BENCHMARKS.map((b) => b.name).join(', ')}`);
    return 2;
  }
  const environment = benchEnvironment();
  console.log(`node ${environment.node} on ${environment.machine}`);
  const measurements: Measurement[] = [];
  for (const benchmark of chosen) {
    console.log(`\n${benchmark.name}: ${benchmark.description}`);
    const results = await benchmark.run();
    printTable(results);
    measurements.push(...results);
  }
  appendBenchRows(
    measurements.map((m) => benchRow(m, environment)),
    BENCH_CSV_PATH,
  );
  console.log(`\n${measurements.length} rows appended to ${BENCH_CSV_PATH}`);
  return measurements.some((m) => meetsTarget(m) === false) ? 1 : 0;
}

function printTable(measurements: readonly Measurement[]): void {
  const number = new Intl.NumberFormat('en-US');
  const rows = [
    ['figure', 'value', 'unit', 'target', 'meets'],
    ...measurements.map((m) => {
      const meets = meetsTarget(m);
      return [m.figure, number.format(m.value), m.unit, m.target === undefined ? '' : `${m.target.op} ${number.format(m.target.value)}`, meets === null ? '' : meets ? 'yes' : 'NO'];
    }),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  for (const row of rows) {
    console.log(row.map((cell, column) => (column === 1 ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join('  ').trimEnd());
  }
}

if (typeof (globalThis as { gc?: unknown }).gc === 'function') {
  process.exitCode = await main(process.argv.slice(2));
} else {
  const child = spawnSync(process.execPath, ['--expose-gc', ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exitCode = child.status ?? 1;
}
