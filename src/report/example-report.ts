/**
 * A small real campaign and a real mutant counterexample, for the HTML report's tests (and to
 * look at): a few generated runs of every suite, and the shrunk failure fast-check finds for a
 * mutant of the zoo, run again with its trace recorded. Deterministic: fixed fast-check seeds.
 */
import fc from 'fast-check';
import { MUTANTS, type Mutant } from '../check/mutants.js';
import { executeRun } from '../scenario/execute.js';
import type { RunSpec } from '../scenario/spec.js';
import { SUITES, suiteArbitrary, suiteByName } from '../suites.js';
import { buildReportData, type CampaignFailure, type CampaignRun } from './campaign-report.js';
import type { ReportData } from './html.js';

/** The fast-check seed of the examples (the mutant zoo's). */
export const EXAMPLE_SEED = 20261125;

/** `runsPerSuite` generated runs of each suite on the reference endpoint. */
export function exampleCampaign(options: { runsPerSuite: number; seed?: number }): CampaignRun[] {
  const runs: CampaignRun[] = [];
  for (const suite of SUITES) {
    const specs = fc.sample(suiteArbitrary(suite), { numRuns: options.runsPerSuite, seed: options.seed ?? EXAMPLE_SEED });
    for (const spec of specs) runs.push({ suite: suite.name, outcome: executeRun(spec) });
  }
  return runs;
}

/**
 * What `timewait run --suite S --endpoint NAME` would find: fast-check searches the suite's
 * runs with a mutant endpoint of the zoo until a monitor fails, shrinks the run, and the shrunk
 * spec is run again with its trace recorded.
 */
export function mutantCounterexample(name: string, suiteName: string, options: { numRuns?: number } = {}): CampaignFailure & { spec: RunSpec; mutant: Mutant } {
  const mutant = MUTANTS.find((m) => m.endpoint.name === name);
  if (mutant === undefined) throw new Error(`no mutant named ${name}`);
  const suite = suiteByName(suiteName);
  if (suite === undefined) throw new Error(`no suite named ${suiteName}`);
  const details = fc.check(
    fc.property(suiteArbitrary(suite), (spec) => !executeRun(spec, { endpoint: mutant.endpoint }).failed),
    { numRuns: options.numRuns ?? 300, seed: EXAMPLE_SEED },
  );
  if (!details.failed || details.counterexample === null) throw new Error(`mutant ${name} was not caught by suite ${suiteName}`);
  const spec = details.counterexample[0] as RunSpec;
  const outcome = executeRun(spec, { endpoint: mutant.endpoint, record: true });
  return { suite: suiteName, seed: details.seed, path: details.counterexamplePath ?? '', outcome, endpoint: name, spec, mutant };
}

/** The report of a small campaign with one mutant failure: what the tests and the screenshot show. */
export function exampleReportData(options: { runsPerSuite?: number; mutant?: string } = {}): ReportData {
  const failure = mutantCounterexample(options.mutant ?? 'no-time-wait', 'time-wait');
  const runs = exampleCampaign({ runsPerSuite: options.runsPerSuite ?? 12 });
  return buildReportData({
    title: 'timewait report: example campaign',
    generatedBy: 'exampleReportData() in src/report/example-report.ts',
    runs: [...runs, { suite: failure.suite, outcome: failure.outcome }],
    failures: [failure],
  });
}
