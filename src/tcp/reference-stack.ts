/**
 * The reference stack behind the host-level seam: a Host running an Endpoint (the reference
 * TCB by default, or a mutant of the zoo). Its seeded streams are named after the host, so a
 * host's ISNs and ports do not depend on which other hosts exist.
 */
import { rngStream } from '../sim/rng.js';
import { REFERENCE_ENDPOINT, type Endpoint } from './endpoint.js';
import { Host } from './host.js';
import type { StackFactory } from './stack.js';

export function referenceStack(endpoint: Endpoint = REFERENCE_ENDPOINT): StackFactory {
  return {
    name: endpoint.name,
    description: endpoint.description,
    create(params, env) {
      const host = new Host(params.ip, params.name, params.config, env, rngStream(params.seed, `host/${params.name}/isn`), rngStream(params.seed, `host/${params.name}/ports`), endpoint);
      host.recordAllTcbs = params.keepClosedConnections;
      host.compactTimeWaitConnections = params.compactTimeWait;
      return host;
    },
  };
}

export const REFERENCE_STACK: StackFactory = referenceStack();
