/**
 * For the tests that drive one TCB (or one TIME-WAIT record) by hand, with no host and no world.
 * Not part of the build (tsconfig.build.json) nor of the mutation runs.
 */
import { REFERENCE_ENDPOINT, type Endpoint } from './endpoint.js';
import { Tcb, type TcbEnv } from './tcb.js';

/**
 * An environment that does nothing (no timers, every accept-queue offer taken, TSval offset 0,
 * every TIME-WAIT admitted), with the parts a test watches or changes given.
 */
export function quietTcbEnv(parts: Partial<TcbEnv> = {}): TcbEnv {
  return {
    transmit: () => {},
    setTimer: () => {},
    clearTimer: () => {},
    stateChanged: () => {},
    timeWaitRestarted: () => {},
    segmentAccepted: () => {},
    wake: () => {},
    offerToListener: () => true,
    timestampOffset: () => 0,
    admitTimeWait: () => true,
    ...parts,
  };
}

/**
 * The reference endpoint with one optional Connection hook taken off its TCBs, as an endpoint
 * written without that hook would have them: for the host's calls that must do without it.
 */
export function endpointWithout(hook: 'adoptReceiveBuffer' | 'timeWaitReuse' | 'inheritTsRecent' | 'shutdownRead'): Endpoint {
  class TcbWithoutHook extends Tcb {
    constructor(...args: ConstructorParameters<typeof Tcb>) {
      super(...args);
      Object.defineProperty(this, hook, { value: undefined });
    }
  }
  return { ...REFERENCE_ENDPOINT, name: `without-${hook}`, createConnection: (id, config, env, options) => new TcbWithoutHook(id, config, env, options) };
}
