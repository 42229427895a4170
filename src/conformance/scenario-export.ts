/**
 * Conformance specs as scenario files, so that `timewait kernel` can run them on Linux (issue
 * #16: every conformance scenario that can be expressed as a file goes through the kernel).
 *
 * The specs live inline in the conformance tests, next to what they assert. Rather than move
 * them out, the harness writes each spec it runs as a scenario file when
 * TIMEWAIT_EXPORT_CONFORMANCE names a directory; src/kernel/kernel-conformance.test.ts runs the
 * conformance tests that way and then every file through the kernel.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { expect } from 'vitest';
import type { ConformanceSpec, LinkDrop } from './harness.js';
import { parseStep } from './harness.js';

/** A scenario file (the JSON that src/scenario/scenario-file.ts reads), or why a spec is not one. */
export type ExportedSpec = { readonly file: Record<string, unknown> } | { readonly cannotExpress: readonly string[] };

/**
 * The spec as a scenario file. Wire drops must already be resolved to per-direction drops
 * (`linkDrops`), as runConformance does.
 */
export function scenarioFileOfSpec(spec: ConformanceSpec, linkDrops: readonly LinkDrop[], description: string): ExportedSpec {
  const cannot: string[] = [];
  if (spec.endpoint !== undefined) cannot.push('endpoint: a broken endpoint variant (the kernel is the reference)');
  const names = spec.hosts ?? ['client', 'server'];
  const programsByHost = new Map<string, ConformanceSpec['programs'][number]>();
  for (const program of spec.programs) {
    if (programsByHost.has(program.host)) cannot.push(`programs: two programs on host ${program.host} (a scenario file has one script per host)`);
    programsByHost.set(program.host, program);
  }
  if (cannot.length > 0) return { cannotExpress: cannot };
  const byDirection = new Map<string, { from: string; to: string; indexes: number[] }>();
  for (const drop of linkDrops) {
    const key = `${drop.from}>${drop.to}`;
    const entry = byDirection.get(key) ?? { from: drop.from, to: drop.to, indexes: [] };
    entry.indexes.push(drop.index);
    byDirection.set(key, entry);
  }
  const file: Record<string, unknown> = {
    description,
    seed: spec.seed ?? 1,
    ...(spec.stack !== undefined ? { stack: stackOf(spec.stack) } : {}),
    ...(spec.faults !== undefined ? { defaultLink: spec.faults } : {}),
    links: [...byDirection.values()].map((d) => ({ from: d.from, to: d.to, oneWay: true, dropSegmentIndexes: [...d.indexes].sort((a, b) => a - b) })),
    hosts: names.map((name) => {
      const program = programsByHost.get(name);
      // The harness starts programs at one instant in the order listed, and its 1 ms links let a
      // listen made then come before the SYN. On loopback a connect made at that instant is
      // answered at once, so programs without a start time start 1 µs apart, in the listed order.
      const listed = spec.programs.findIndex((p) => p.host === name);
      const startUs = program?.startUs ?? (listed > 0 ? listed : undefined);
      const stack = spec.hostStacks?.[name];
      return {
        name,
        ...(stack !== undefined ? { stack: stackOf(stack) } : {}),
        ...(startUs !== undefined ? { startUs } : {}),
        script: (program?.steps ?? []).map((s) => {
          const step = typeof s === 'string' ? parseStep(s) : s;
          return { ...step.call, ...(step.expect !== undefined ? { expect: step.expect } : {}) };
        }),
      };
    }),
    ...(spec.limits !== undefined ? { limits: spec.limits } : {}),
  };
  return { file };
}

/** Scenario files spell ISN policies as "rfc6528", "random" or { fixed: N }. */
function stackOf(stack: NonNullable<ConformanceSpec['stack']>): Record<string, unknown> {
  const { isn, ...rest } = stack;
  if (isn === undefined) return rest;
  return { ...rest, isn: isn.kind === 'fixed' ? { fixed: isn.value } : isn.kind };
}

let exported = 0;

/** Write the spec under TIMEWAIT_EXPORT_CONFORMANCE when it is set, named after the running test. */
export function exportIfAsked(spec: ConformanceSpec, linkDrops: readonly LinkDrop[]): void {
  const dir = process.env.TIMEWAIT_EXPORT_CONFORMANCE;
  if (dir === undefined || dir === '') return;
  const state = expect.getState();
  const test = state.currentTestName ?? 'outside a test';
  const file = basename(state.testPath ?? 'unknown').replace(/\.test\.ts$/, '');
  const name = `${file}-${String(++exported).padStart(3, '0')}`;
  const result = scenarioFileOfSpec(spec, linkDrops, `${file}: ${test}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.json`), `${JSON.stringify('file' in result ? result.file : { description: `${file}: ${test}`, cannotExpress: result.cannotExpress }, null, 2)}\n`);
}
