/** Endpoints by name: the reference implementation and the mutant zoo (src/check/mutants.ts). */
import { MUTANTS } from '../check/mutants.js';
import { externalStack } from '../stack/external.js';
import { REFERENCE_ENDPOINT, type Endpoint } from '../tcp/endpoint.js';

export const ENDPOINTS: readonly Endpoint[] = [REFERENCE_ENDPOINT, ...MUTANTS.map((m) => m.endpoint)];

export const ENDPOINT_NAMES: readonly string[] = ENDPOINTS.map((e) => e.name);

/** An external stack is named `stack:COMMAND` (what `--stack COMMAND` stands for). */
export const STACK_PREFIX = 'stack:';

/** One child process per command per thread, shared by every run of the campaign (src/stack/external.ts). */
const externalEndpoints = new Map<string, Endpoint>();

export function endpointByName(name: string): Endpoint | undefined {
  if (name.startsWith(STACK_PREFIX) && name.length > STACK_PREFIX.length) {
    let endpoint = externalEndpoints.get(name);
    if (endpoint === undefined) {
      const stackFactory = externalStack(name.slice(STACK_PREFIX.length));
      endpoint = { ...REFERENCE_ENDPOINT, name, description: stackFactory.description, stackFactory };
      externalEndpoints.set(name, endpoint);
    }
    return endpoint;
  }
  return ENDPOINTS.find((e) => e.name === name);
}
