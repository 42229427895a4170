import { describe, expect, it } from 'vitest';
import { executeRun } from './execute.js';
import { CLEAN_PLAN, type CloseOrder, type RunSpec } from './spec.js';

function spec(closeOrder: CloseOrder, passiveCloseDelayUs = 0): RunSpec {
  return {
    seed: 1,
    mslUs: 500_000,
    delayedAckUs: 40_000,
    isn: 'rfc6528',
    clients: 1,
    servers: 1,
    connections: [{ client: 0, server: 0, startUs: 0, requestBytes: 100, responseBytes: 100, closeOrder, passiveCloseDelayUs, incarnations: 1, gapUs: 0, clientReuseAddr: false, serverReuseAddr: false }],
    faults: CLEAN_PLAN,
    faultsEndUs: 1_000_000,
    enforceMsl: true,
    rfc1337: false,
  };
}

describe('close kinds in the statistics', () => {
  it('C7/C5/C14: a prompt passive close is three-segment, a slow one four-segment, a linger abort an abort', () => {
    // Act
    const closes = (s: RunSpec) => {
      const { stats } = executeRun(s);
      return [stats.closesThreeSegment, stats.closesFourSegment, stats.closesSimultaneous, stats.closesAbort];
    };
    // Assert
    expect(closes(spec('client-first'))).toEqual([1, 0, 0, 0]);
    expect(closes(spec('client-first', 100_000))).toEqual([0, 1, 0, 0]);
    expect(closes(spec('abort-server'))).toEqual([0, 0, 0, 1]);
    expect(closes(spec('refused'))).toEqual([0, 0, 0, 0]);
  });
});
