/**
 * Run programs on a world until it goes quiet: the building block of conformance tests,
 * scenario files and generated runs.
 */
import type { RunEnd, RunLimits } from '../sim/scheduler.js';
import { Program, type ProgramStep } from './program.js';
import { DEFAULT_LIMITS, type World } from './world.js';

export interface ProgramSpec {
  readonly host: string;
  readonly startUs?: number;
  readonly steps: readonly ProgramStep[];
}

export interface ScriptRun {
  readonly end: RunEnd;
  readonly programs: readonly Program[];
}

export function runPrograms(world: World, specs: readonly ProgramSpec[], limits: RunLimits = DEFAULT_LIMITS): ScriptRun {
  const programs = specs.map((spec, index) => new Program(world, world.host(spec.host), index, spec.steps, spec.startUs ?? 0));
  const end = world.run(limits);
  return { end, programs };
}
