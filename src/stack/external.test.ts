/**
 * The external-stack protocol loses nothing: the reference stack run as a separate process
 * (src/stack/reference-server.ts) gives byte-identical traces — every segment, timer, state
 * change, accepted segment and call — to the reference in process, on 1,000 generated runs
 * across every suite (C1–C15), and the same verdicts.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeRun } from '../scenario/execute.js';
import { SUITES, suiteArbitrary } from '../suites.js';
import { formatTrace } from '../world/trace.js';
import { externalStack, type ExternalStackFactory } from './external.js';
import { buildReferenceServer, removeBuild } from './test-support.js';

const RUNS = 1000;

let build: { command: string; dir: string };
let factory: ExternalStackFactory;

beforeAll(() => {
  build = buildReferenceServer();
  factory = externalStack(build.command);
}, 120_000);

afterAll(() => {
  factory?.close();
  if (build !== undefined) removeBuild(build.dir);
});

describe('the reference stack as an external process', () => {
  it(`gives byte-identical traces to the in-process reference on ${RUNS} generated runs`, () => {
    // Arrange: the same specs for both, from every suite.
    const perSuite = Math.ceil(RUNS / SUITES.length);
    let compared = 0;
    for (const suite of SUITES) {
      const specs = fc.sample(suiteArbitrary(suite), { seed: 20261201, numRuns: perSuite });
      for (const spec of specs) {
        // Act
        const inProcess = executeRun(spec, { record: true });
        const external = executeRun(spec, { record: true, stackFactory: factory, profile: 'linux' });
        // Assert
        const expected = formatTrace(inProcess.events!).join('\n');
        const got = formatTrace(external.events!).join('\n');
        if (got !== expected) expect.fail(`suite ${suite.name}, seed ${spec.seed}: traces differ\n${firstDifference(expected, got)}`);
        expect(external.failed).toBe(inProcess.failed);
        expect(external.end).toEqual(inProcess.end);
        compared++;
      }
    }
    expect(compared).toBeGreaterThanOrEqual(RUNS);
  }, 600_000);

  it('reports a stack that dies as an error naming the command, not a hang', () => {
    // Arrange: a "stack" that exits at once.
    const dead = externalStack('exit 3');
    const spec = fc.sample(suiteArbitrary(SUITES[0]!), { seed: 1, numRuns: 1 })[0]!;
    // Act, Assert
    // Which of the three ways a dead child shows depends on timing (EPIPE on the write, EOF or an
    // error on the read); each names the command.
    expect(() => executeRun(spec, { stackFactory: dead })).toThrow(/stack process "exit 3": (it exited without (answering|reading)|reading from it failed)/);
    dead.close();
  });

  it('rejects a command that is not valid shell', () => {
    expect(() => externalStack('foo "').create({} as never, {} as never)).toThrow(/not a valid shell command/);
  });
});

function firstDifference(expected: string, got: string): string {
  const a = expected.split('\n');
  const b = got.split('\n');
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) return `line ${i + 1}:\n  in process: ${a[i]}\n  external:   ${b[i]}`;
  }
  return '';
}
