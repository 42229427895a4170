/** Endpoints by name: the reference implementation and the mutant zoo (src/check/mutants.ts). */
import { MUTANTS } from '../check/mutants.js';
import { REFERENCE_ENDPOINT, type Endpoint } from '../tcp/endpoint.js';

export const ENDPOINTS: readonly Endpoint[] = [REFERENCE_ENDPOINT, ...MUTANTS.map((m) => m.endpoint)];

export const ENDPOINT_NAMES: readonly string[] = ENDPOINTS.map((e) => e.name);

export function endpointByName(name: string): Endpoint | undefined {
  return ENDPOINTS.find((e) => e.name === name);
}
