/**
 * What a benchmark module provides, and the timing helper they share. A benchmark is a named
 * function returning measurements; `main.ts` keeps the one list of them, filters by name,
 * prints a table and appends one CSV row per measurement (csv.ts).
 *
 * Benchmarks may read the wall clock (this folder only): they measure the simulator, they are
 * not part of it. Nothing here asserts a time; a missed target is a reported figure, not a
 * failed test.
 */

/** A figure's goal: the value must be at least (`>=`) or at most (`<=`) `value`. */
export interface Target {
  readonly op: '>=' | '<=';
  readonly value: number;
}

export interface Measurement {
  /** What was measured and under which load: `scheduler events/s, 10^4 pending`. */
  readonly figure: string;
  readonly value: number;
  /** `events/s`, `ms`, `runs/s`, ... */
  readonly unit: string;
  readonly target?: Target;
}

export interface Benchmark {
  /** Short and unique; `npm run bench -- <name>` runs the benchmarks whose name contains it. */
  readonly name: string;
  /** One line for the listing. */
  readonly description: string;
  run(): Measurement[] | Promise<Measurement[]>;
}

export function meetsTarget(measurement: Measurement): boolean | null {
  const target = measurement.target;
  if (target === undefined) return null;
  return target.op === '>=' ? measurement.value >= target.value : measurement.value <= target.value;
}

export function formatTarget(target: Target | undefined): string {
  return target === undefined ? '' : `${target.op} ${target.value}`;
}

/** One timed repetition: how many units of work it did, and how long it took. */
export interface Sample {
  readonly work: number;
  readonly elapsedMs: number;
  /**
   * CPU time the process spent meanwhile (every thread: V8's GC helpers too). On a machine
   * shared with other work it is the steadier measure: wall time also counts the time the
   * process waited for a core.
   */
  readonly cpuMs: number;
}

export interface RateOptions {
  /** Untimed runs first, so the JIT has compiled the hot paths. */
  readonly warmups: number;
  /** Timed runs; the best rate is kept (the least disturbed by the machine). */
  readonly repetitions: number;
}

/** Run `once` warmups + repetitions times and return the best rate, in work per second. */
export function bestRatePerSecond(options: RateOptions, once: () => Sample): number {
  for (let i = 0; i < options.warmups; i++) once();
  let best = 0;
  for (let i = 0; i < options.repetitions; i++) {
    const sample = once();
    if (sample.elapsedMs <= 0) throw new Error('a repetition took no measurable time; give it more work');
    best = Math.max(best, (sample.work * 1000) / sample.elapsedMs);
  }
  return best;
}

/** Time `work` with the high-resolution clock. */
export function timed(work: () => number): Sample {
  const startMs = performance.now();
  const startCpu = process.cpuUsage();
  const done = work();
  const cpu = process.cpuUsage(startCpu);
  return { work: done, elapsedMs: performance.now() - startMs, cpuMs: (cpu.user + cpu.system) / 1000 };
}
