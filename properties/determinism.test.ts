/**
 * Determinism: a run is a function of its seed. Two hosts, one connection, a link that loses,
 * duplicates, reorders and jitters; the trace text (every segment fate, state change, timer
 * and socket call, one line each via `formatEvent`) must be byte-identical for the same seed
 * and must differ for different seeds.
 *
 * fast-check chooses the seed (`fc.noShrink(fc.integer())`, STYLE.md "Determinism"), so a
 * failure's `{ seed, path }` reproduces it. Runs scale with TIMEWAIT_RUNS_SCALE (default 1).
 */
import { describe, expect } from 'vitest';
import { fc, it } from '@fast-check/vitest';
import { linkFaults, type LinkFaults } from '../src/net/faults.js';
import { runPrograms, type ProgramSpec } from '../src/world/run-script.js';
import { formatEvent, TraceRecorder } from '../src/world/trace.js';
import { World } from '../src/world/world.js';

const RUNS_SCALE = runsScale();
/** At least 1,000 seeds in the default run (STYLE.md: a standing property). */
const SAME_SEED_RUNS = Math.max(1, Math.round(1_000 * RUNS_SCALE));
const DIFFERENT_SEED_RUNS = Math.max(1, Math.round(1_000 * RUNS_SCALE));

const SERVER_PORT = 8848;

/** A run's inputs: the seed, the link's faults (drawn per run, VOPR-style) and how much to send. */
interface RunInput {
  readonly seed: number;
  readonly faults: LinkFaults;
  readonly bytes: number;
}

const faultsArb: fc.Arbitrary<LinkFaults> = fc
  .record({
    delayUs: fc.integer({ min: 100, max: 20_000 }),
    jitterUs: fc.integer({ min: 0, max: 5_000 }),
    lossRate: fc.double({ min: 0.01, max: 0.2, noNaN: true }),
    duplicateRate: fc.double({ min: 0.01, max: 0.2, noNaN: true }),
    reorderRate: fc.double({ min: 0.01, max: 0.3, noNaN: true }),
    reorderDelayUsMax: fc.integer({ min: 1_000, max: 50_000 }),
    oldDuplicateRate: fc.double({ min: 0, max: 0.05, noNaN: true }),
    oldDuplicateDelayUsMax: fc.integer({ min: 0, max: 2_000_000 }),
  })
  .map((rates) => linkFaults(rates));

const bytesArb = fc.integer({ min: 1, max: 50_000 });
const seedArb = fc.noShrink(fc.integer());

/**
 * Build a fresh world and run one connection to the end: the server accepts, reads until EOF
 * and closes; the client connects, sends `bytes` and closes. Returns the whole trace as text,
 * starting with a banner of the run's settings so the text alone says how to reproduce it.
 */
function traceText(input: RunInput): string {
  const world = new World({
    seed: input.seed,
    defaultFaults: input.faults,
    // Random faults stop after a minute so every run ends, in TIME-WAIT's 2·MSL at most.
    faultsEndUs: 60_000_000,
  });
  world.addHost('server');
  world.addHost('client');
  const recorder = new TraceRecorder();
  world.addListener(recorder);
  const { end } = runPrograms(world, programs(input.bytes));
  const lines = [`SEED=${input.seed} bytes=${input.bytes} faults=${JSON.stringify(input.faults)}`];
  for (const event of recorder.events) lines.push(formatEvent(event));
  lines.push(`end ${end.stoppedBy} events=${end.events} at=${end.endUs}`);
  return lines.join('\n');
}

function programs(bytes: number): ProgramSpec[] {
  return [
    {
      host: 'server',
      steps: [
        { call: { op: 'socket', sock: 'srv' } },
        { call: { op: 'bind', sock: 'srv', port: SERVER_PORT } },
        { call: { op: 'listen', sock: 'srv', backlog: 8 } },
        { call: { op: 'accept', sock: 'srv', as: 'conn' } },
        { call: { op: 'recv-until-eof', sock: 'conn' } },
        { call: { op: 'close', sock: 'conn' } },
        { call: { op: 'close', sock: 'srv' } },
      ],
    },
    {
      host: 'client',
      // Start a little later so the server is listening, as a real client would find it.
      startUs: 1_000,
      steps: [
        { call: { op: 'socket', sock: 'c' } },
        { call: { op: 'connect', sock: 'c', host: 'server', port: SERVER_PORT } },
        { call: { op: 'send', sock: 'c', bytes } },
        { call: { op: 'close', sock: 'c' } },
      ],
    },
  ];
}

function runsScale(): number {
  const text = process.env['TIMEWAIT_RUNS_SCALE'];
  if (text === undefined || text === '') return 1;
  const scale = Number(text);
  if (!Number.isFinite(scale) || scale <= 0) throw new Error(`TIMEWAIT_RUNS_SCALE must be a positive number, got "${text}"`);
  return scale;
}

describe('determinism', () => {
  it.prop([seedArb, faultsArb, bytesArb], { numRuns: SAME_SEED_RUNS })(
    'determinism: the same seed gives a byte-identical trace, even with another run in between',
    (seed, faults, bytes) => {
      // Arrange
      const input = { seed, faults, bytes };
      // Act: run, run something else (hidden global state would leak through it), run again.
      const first = traceText(input);
      traceText({ seed: seed ^ 0x5a5a5a5a, faults, bytes: bytes + 1 });
      const second = traceText(input);
      // Assert: the run did real work, and did it the same way twice.
      expect(first).toContain('state=ESTABLISHED=>');
      expect(firstDifference(first, second)).toBeNull();
    },
  );

  it.prop([fc.noShrink(fc.uniqueArray(fc.integer(), { minLength: 2, maxLength: 2 })), faultsArb, bytesArb], { numRuns: DIFFERENT_SEED_RUNS })(
    'determinism: different seeds give different traces',
    ([seedA, seedB], faults, bytes) => {
      // Arrange
      const a = { seed: seedA!, faults, bytes };
      const b = { seed: seedB!, faults, bytes };
      // Act: drop the banner line, which names the seed and so always differs.
      const traceA = withoutBanner(traceText(a));
      const traceB = withoutBanner(traceText(b));
      // Assert: the seed reaches the run (ISNs, ephemeral ports and link draws come from it).
      expect(traceA === traceB).toBe(false);
    },
  );
});

/** Where two traces first part, for a readable failure; null when they are byte-identical. */
function firstDifference(a: string, b: string): string | null {
  if (a === b) return null;
  const linesA = a.split('\n');
  const linesB = b.split('\n');
  let line = 0;
  while (line < linesA.length && line < linesB.length && linesA[line] === linesB[line]) line++;
  return `line ${line + 1}:\n  first:  ${linesA[line] ?? '(end of trace)'}\n  second: ${linesB[line] ?? '(end of trace)'}`;
}

function withoutBanner(trace: string): string {
  return trace.slice(trace.indexOf('\n') + 1);
}
