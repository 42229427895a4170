/**
 * The port-exhaustion mechanism on a tiny port range, so it runs in milliseconds: 10 ephemeral
 * ports, a connect every 10 ms, TIME-WAIT of 2·MSL. (The full-size report is
 * `npm run bench -- port-exhaustion`.)
 */
import { describe, expect, it } from 'vitest';
import { runPortExhaustion, type ExhaustionScenario, type ExhaustionVariant } from './port-exhaustion.js';

const TINY: ExhaustionScenario = {
  intervalUs: 10_000,
  durationUs: 1_000_000,
  ephemeralPortMin: 40_000,
  ephemeralPortMax: 40_009,
  sampleUs: 5_000,
  seed: 7,
};

const variant = (overrides: Partial<ExhaustionVariant>): ExhaustionVariant => ({ name: 'test', mslUs: 100_000, reuseAddr: false, lingerZero: false, ...overrides });

describe('port exhaustion by TIME-WAIT', () => {
  it('C12: connect() fails with EADDRNOTAVAIL once every port holds a TIME-WAIT to the server, and succeeds again as they expire', () => {
    // Arrange: a port is held from its connect until 2·MSL (200 ms) after its close, ~4 ms later.
    // Act
    const result = runPortExhaustion(TINY, variant({}));
    // Assert: the 11th connect (at 100 ms) finds all 10 ports in TIME-WAIT.
    expect(result.firstFailureUs).toBe(100_000);
    expect(result.connectedBeforeFailure).toBe(10);
    expect(result.peakTimeWait).toBe(10);
    expect(result.eaddrnotavail).toBeGreaterThan(0);
    expect(result.eaddrnotavail).toBe(result.attempts - result.connected);
    // ... and later connects get the ports TIME-WAIT gave back: 10 per ~204 ms.
    expect(result.connected).toBeGreaterThan(10);
    expect(result.connectsPerSecondAfterExhaustion).toBeGreaterThan(40);
    expect(result.connectsPerSecondAfterExhaustion).toBeLessThanOrEqual(50);
    expect(result.serverCompleted).toBe(result.connected);
  });

  it('C11: SO_REUSEADDR on the client changes nothing: it relaxes bind(), not the 4-tuple check of connect()', () => {
    // Arrange
    const plain = runPortExhaustion(TINY, variant({}));
    // Act
    const reuse = runPortExhaustion(TINY, variant({ reuseAddr: true }));
    // Assert
    expect({ ...reuse, variant: null }).toEqual({ ...plain, variant: null });
  });

  it('C14: SO_LINGER{on,0} leaves no TIME-WAIT, so no port runs out — and the server sees every connection reset', () => {
    // Act
    const result = runPortExhaustion(TINY, variant({ lingerZero: true }));
    // Assert
    expect(result.firstFailureUs).toBeNull();
    expect(result.eaddrnotavail).toBe(0);
    expect(result.peakTimeWait).toBe(0);
    expect(result.connected).toBe(result.attempts);
    expect(result.serverResets).toBe(result.attempts);
    expect(result.serverCompleted).toBe(0);
  });

  it('tcp_tw_reuse 1: connect() takes ports whose TIME-WAIT is older than tcp_tw_reuse_delay, so none runs out; 2 (the default) between two hosts and 0 do not', () => {
    // Act: TIME-WAIT 200 ms; reuse after 50 ms, well within it.
    const reuse = runPortExhaustion(TINY, variant({ twReuse: 1, twReuseDelayUs: 50_000 }));
    const loopbackOnly = runPortExhaustion(TINY, variant({ twReuse: 2, twReuseDelayUs: 50_000 }));
    const never = runPortExhaustion(TINY, variant({ twReuse: 0, twReuseDelayUs: 50_000 }));
    // Assert
    expect(reuse.eaddrnotavail).toBe(0);
    expect(reuse.connected).toBe(reuse.attempts);
    expect(reuse.serverCompleted).toBe(reuse.attempts);
    expect(reuse.peakTimeWait).toBe(10);
    expect(loopbackOnly.firstFailureUs).toBe(100_000);
    expect({ ...never, variant: null }).toEqual({ ...loopbackOnly, variant: null });
  });

  it('C8: with 2·MSL shorter than 10 connect intervals, TIME-WAIT never holds every port', () => {
    // Act: TIME-WAIT 40 ms, so at most 5 ports are held at once.
    const result = runPortExhaustion(TINY, variant({ mslUs: 20_000 }));
    // Assert
    expect(result.firstFailureUs).toBeNull();
    expect(result.connected).toBe(result.attempts);
    expect(result.peakTimeWait).toBeLessThanOrEqual(5);
    expect(result.peakTimeWait).toBeGreaterThan(0);
  });
});
