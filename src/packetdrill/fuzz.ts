/**
 * `--fuzz N`, the adversarial mode: run a script N times, each with a seeded perturbation of
 * the packets the peer injects — a time shift within the script's tolerance, a duplicate, an
 * adjacent pair swapped, one held back past the next — with every expectation advisory and the
 * monitors as the only judges. fast-check draws the perturbations from the seed and shrinks a
 * failure to the smallest perturbation that still breaks a monitor; its `{ seed, path }` replays
 * it exactly, like any counterexample.
 */
import fc from 'fast-check';
import type { Script } from './ast.js';
import { runScript, type Perturbation, type RunScriptOptions, type ScriptResult } from './runner.js';

export interface FuzzOptions extends Omit<RunScriptOptions, 'perturbations'> {
  readonly runs: number;
  readonly seed: number;
  /** fast-check's path of a counterexample: replays that one run (after shrinking). */
  readonly path?: string;
}

export interface FuzzResult {
  readonly runs: number;
  readonly seed: number;
  /** The unperturbed run, for its notes and its own expectations. */
  readonly baseline: ScriptResult;
  /** The shrunk failure, if any run broke a monitor. */
  readonly counterexample: {
    readonly perturbations: readonly Perturbation[];
    readonly path: string;
    readonly result: ScriptResult;
    readonly shrinks: number;
  } | null;
}

/** Perturbations of a script with `inboundCount` injected packets, shifts within `toleranceUs`. */
export function perturbationsArb(inboundCount: number, toleranceUs: number): fc.Arbitrary<Perturbation[]> {
  if (inboundCount === 0) return fc.constant([]);
  const index = fc.nat({ max: inboundCount - 1 });
  const kinds: fc.Arbitrary<Perturbation>[] = [
    fc.record({ kind: fc.constant('duplicate' as const), index }),
    fc.record({ kind: fc.constant('swap' as const), index }),
    fc.record({ kind: fc.constant('hold' as const), index }),
  ];
  if (toleranceUs > 0) kinds.unshift(fc.record({ kind: fc.constant('shift' as const), index, us: fc.integer({ min: -toleranceUs, max: toleranceUs }) }));
  return fc.array(fc.oneof(...kinds), { minLength: 1, maxLength: 4 });
}

export function describePerturbation(p: Perturbation): string {
  switch (p.kind) {
    case 'shift':
      return `inbound packet #${p.index + 1} moved ${p.us >= 0 ? '+' : ''}${p.us} µs`;
    case 'duplicate':
      return `inbound packet #${p.index + 1} sent twice`;
    case 'swap':
      return `inbound packet #${p.index + 1} swapped with the next one`;
    case 'hold':
      return `inbound packet #${p.index + 1} held back past the next inbound packet`;
  }
}

export function runFuzz(script: Script, options: FuzzOptions): FuzzResult {
  const { runs, seed, path, ...runOptions } = options;
  const baseline = runScript(script, runOptions);
  const inboundCount = script.events.filter((e) => e.action.kind === 'packet' && e.action.packet.direction === 'inbound').length;
  const arb = perturbationsArb(inboundCount, options.exact === true ? 0 : baseline.settings.toleranceUs);
  const details = fc.check(
    fc.property(arb, (perturbations) => runScript(script, { ...runOptions, perturbations }).violations.length === 0),
    { seed, numRuns: runs, ...(path !== undefined ? { path } : {}), endOnFailure: false },
  );
  if (!details.failed || details.counterexample === null) return { runs: details.numRuns, seed, baseline, counterexample: null };
  const [perturbations] = details.counterexample;
  return {
    runs: details.numRuns,
    seed,
    baseline,
    counterexample: {
      perturbations,
      path: details.counterexamplePath ?? '',
      result: runScript(script, { ...runOptions, perturbations }),
      shrinks: details.numShrinks,
    },
  };
}
