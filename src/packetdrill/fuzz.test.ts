/**
 * `--fuzz` (the adversarial mode): seeded perturbations of the injected packets, with the
 * monitors as the only judges. On the reference endpoint it finds nothing; on a mutant whose
 * fault no plain script line exercises, it finds a failure, shrinks it to one perturbation and
 * replays it from `{ seed, path }`.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MUTANTS } from '../check/mutants.js';
import { perturbationsArb, runFuzz } from './fuzz.js';
import { parseScript } from './parser.js';
import { runScript } from './runner.js';

const file = 'c08-time-wait-2msl.pkt';
const script = parseScript(readFileSync(resolve(import.meta.dirname, '../../examples/packetdrill', file), 'utf8'), file);
const timeWaitRst = MUTANTS.find((m) => m.endpoint.name === 'time-wait-rst')!.endpoint;

describe('packetdrill --fuzz', () => {
  it('the mutant passes the plain script: no line of it retransmits the FIN', () => {
    expect(runScript(script, { file, endpoint: timeWaitRst }).status).toBe('pass');
  });

  it('finds none on the reference endpoint (C8, C9)', () => {
    const result = runFuzz(script, { file, runs: 150, seed: 3 });
    expect(result.runs).toBe(150);
    expect(result.counterexample).toBeNull();
  });

  it('finds the TIME-WAIT that answers a duplicated FIN with RST, shrunk to that one duplicate (C9)', () => {
    const result = runFuzz(script, { file, runs: 150, seed: 3, endpoint: timeWaitRst });
    const c = result.counterexample!;
    expect(c).not.toBeNull();
    // The third injected packet is the peer's FIN.
    expect(c.perturbations).toEqual([{ kind: 'duplicate', index: 2 }]);
    expect(c.result.violations.map((v) => v.monitor)).toEqual(['time-wait-2msl']);
    expect(c.result.violations[0]!.message).toMatch(/RST .* while it is in TIME-WAIT/);
    // Replays from its seed and path: the same perturbation, the same violation.
    const replay = runFuzz(script, { file, runs: 150, seed: 3, path: c.path, endpoint: timeWaitRst });
    expect(replay.counterexample?.perturbations).toEqual(c.perturbations);
    expect(replay.counterexample?.result.violations).toEqual(c.result.violations);
  });

  it('keeps shifts within the script\'s tolerance and indexes within its inbound packets', () => {
    fc.assert(
      fc.property(perturbationsArb(5, 4_000), (ps) => ps.every((p) => p.index >= 0 && p.index < 5 && (p.kind !== 'shift' || Math.abs(p.us) <= 4_000))),
      { seed: 1, numRuns: 200 },
    );
    fc.assert(fc.property(perturbationsArb(3, 0), (ps) => ps.every((p) => p.kind !== 'shift')), { seed: 1, numRuns: 100 });
  });

  it('makes expectations advisory: a perturbed run reports differences without failing on them', () => {
    const perturbed = runScript(script, { file, perturbations: [{ kind: 'swap', index: 1 }] });
    expect(perturbed.failure).toBeNull();
    expect(perturbed.violations).toEqual([]);
    expect(perturbed.status).toBe('pass');
  });
});
