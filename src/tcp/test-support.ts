/**
 * For the tests that drive one TCB (or one TIME-WAIT record) by hand, with no host and no world.
 * Not part of the build (tsconfig.build.json) nor of the mutation runs.
 */
import type { TcbEnv } from './tcb.js';

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
