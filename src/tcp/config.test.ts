/**
 * The stack settings: Linux 6.x's sysctl defaults (Documentation/networking/ip-sysctl.rst), 2·MSL
 * following MSL, and a clear refusal, naming the field, of a setting no kernel accepts.
 */
import { describe, expect, it } from 'vitest';
import { LINUX_DEFAULTS, stackConfig, type StackConfig } from './config.js';

describe('stack settings', () => {
  it('the defaults are Linux\'s sysctls, in our units', () => {
    const sysctls: [keyof StackConfig, string, unknown][] = [
      ['finWait2TimeoutUs', 'tcp_fin_timeout = 60 s', 60_000_000],
      ['synRetries', 'tcp_syn_retries = 6', 6],
      ['synAckRetries', 'tcp_synack_retries = 5', 5],
      ['abortOnOverflow', 'tcp_abort_on_overflow = 0', false],
      ['earlyRetrans', 'tcp_early_retrans = 3', 3],
      ['dataRetries', 'tcp_retries2 = 15', 15],
      ['rfc1337', 'tcp_rfc1337 = 0', false],
      ['timestamps', 'tcp_timestamps = 1', 1],
      ['windowScaling', 'tcp_window_scaling = 1', true],
      ['twReuse', 'tcp_tw_reuse = 2 (loopback only)', 2],
      ['ephemeralPortMin', 'ip_local_port_range = 32768 60999', 32768],
      ['ephemeralPortMax', 'ip_local_port_range = 32768 60999', 60999],
      ['netCoreRmemMaxBytes', 'net.core.rmem_max = 212992', 212_992],
      ['netCoreWmemMaxBytes', 'net.core.wmem_max = 212992', 212_992],
      ['rtoMinUs', 'TCP_RTO_MIN = 200 ms', 200_000],
      ['rtoMaxUs', 'TCP_RTO_MAX = 120 s', 120_000_000],
      ['rtoInitialUs', 'TCP_TIMEOUT_INIT = 1 s', 1_000_000],
      ['delayedAckUs', 'TCP_DELACK_MIN = TCP_ATO_MIN = 40 ms', 40_000],
      ['timeWaitUs', 'TCP_TIMEWAIT_LEN = 60 s (2·MSL with MSL 30 s)', 60_000_000],
    ];
    for (const [field, sysctl, value] of sysctls) expect(LINUX_DEFAULTS[field], sysctl).toEqual(value);
    expect(LINUX_DEFAULTS.isn).toEqual({ kind: 'rfc6528' });
    // Deliberately off (README, "Deliberately left out"): Linux's tcp_sack is 1.
    expect(LINUX_DEFAULTS.sack).toBe(false);
    expect(stackConfig()).toEqual(LINUX_DEFAULTS);
  });

  it('TIME-WAIT follows MSL (2·MSL) unless it is set itself', () => {
    expect(stackConfig({ mslUs: 500_000 }).timeWaitUs).toBe(1_000_000);
    expect(stackConfig({ mslUs: 500_000, timeWaitUs: 7 }).timeWaitUs).toBe(7);
    expect(stackConfig({ timeWaitUs: 7 }).mslUs).toBe(LINUX_DEFAULTS.mslUs);
  });

  it('a number that is negative, fractional or unsafe is refused, naming the field', () => {
    expect(() => stackConfig({ rtoMinUs: -1 })).toThrow('stack config rtoMinUs must be a non-negative integer, got -1');
    expect(() => stackConfig({ delayedAckUs: 0.5 })).toThrow('stack config delayedAckUs must be a non-negative integer, got 0.5');
    expect(() => stackConfig({ maxTwBuckets: 2 ** 53 })).toThrow('stack config maxTwBuckets must be a non-negative integer');
    // Zero is a value (delayed ACKs off, no retries).
    expect(stackConfig({ delayedAckUs: 0, synRetries: 0 }).delayedAckUs).toBe(0);
  });

  it('mss and the timer tick must be at least 1; timestamps and tw_reuse 0, 1 or 2', () => {
    expect(() => stackConfig({ mss: 0 })).toThrow('stack config mss must be at least 1');
    expect(stackConfig({ mss: 1 }).mss).toBe(1);
    expect(() => stackConfig({ jiffyUs: 0 })).toThrow('stack config jiffyUs must be at least 1 (one timer tick, 1 s / CONFIG_HZ)');
    expect(stackConfig({ jiffyUs: 1 }).jiffyUs).toBe(1);
    expect(() => stackConfig({ timestamps: 3 as 0 })).toThrow('stack config timestamps must be 0, 1 or 2 (Linux tcp_timestamps), got 3');
    expect(() => stackConfig({ twReuse: 3 as 0 })).toThrow('stack config twReuse must be 0, 1 or 2 (Linux tcp_tw_reuse), got 3');
    for (const value of [0, 1, 2] as const) {
      expect(stackConfig({ timestamps: value }).timestamps).toBe(value);
      expect(stackConfig({ twReuse: value }).twReuse).toBe(value);
    }
  });

  it('the ephemeral range lies within 1-65535, lowest first; one port is a range', () => {
    expect(() => stackConfig({ ephemeralPortMin: 0 })).toThrow('stack config ephemeral port range 0-60999 is not within 1-65535');
    expect(() => stackConfig({ ephemeralPortMax: 65536 })).toThrow('stack config ephemeral port range 32768-65536 is not within 1-65535');
    expect(() => stackConfig({ ephemeralPortMin: 5001, ephemeralPortMax: 5000 })).toThrow('stack config ephemeral port range 5001-5000 is not within 1-65535');
    expect(stackConfig({ ephemeralPortMin: 1, ephemeralPortMax: 65535 }).ephemeralPortMax).toBe(65535);
    expect(stackConfig({ ephemeralPortMin: 5000, ephemeralPortMax: 5000 }).ephemeralPortMin).toBe(5000);
  });
});
