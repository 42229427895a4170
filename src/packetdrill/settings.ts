/**
 * What a packetdrill script's set-up means for a simulated host: header options, and the
 * sysctls of `defaults.sh` and other init commands mapped to stack settings (each named after
 * its sysctl, ../shared/packetdrill-subset.md §5). A setting the simulator has no model for is
 * listed as ignored, with the reason, never silently dropped; a command it cannot run is
 * refused by name.
 */
import type { StackConfig } from '../tcp/config.js';

/** packetdrill's default timing tolerance (config.c): 4 ms. */
export const DEFAULT_TOLERANCE_US = 4_000;

export interface ScriptSettings {
  toleranceUs: number;
  /** packetdrill's --bind_port (default 8080): the port `bind(fd, ..., ...)` binds. */
  bindPort: number;
  /** packetdrill's --connect_port (default 8080): the peer's port `connect(fd, ..., ...)` reaches. */
  connectPort: number;
  /** timewait's --remote_port (not packetdrill's): the peer's port for connections it opens. */
  remotePort: number;
  /** packetdrill's --tcp_ts_tick_usecs (default 0): µs per outbound TS val tick; 0 checks no TS val. */
  tsTickUs: number;
  /** packetdrill's --tcp_ts_ecr_scaled: an inbound TS ecr no outbound line showed is mapped by the first TS's offset. */
  tsEcrScaled: boolean;
  stack: Partial<StackConfig>;
  /** What was read and set aside, for the run's notes. */
  readonly notes: string[];
}

/**
 * Sysctls the stack models, by name, as a stack setting. `tcp_retries2` is counted, not turned
 * into a time as Linux does (tcp_retransmits_timed_out); `tcp_wmem`'s middle value is the
 * default send buffer.
 */
const MAPPED: Readonly<Record<string, (value: string, stack: Partial<StackConfig>) => string | null>> = {
  tcp_syn_retries: (v, s) => integer(v, (n) => ((s as { synRetries: number }).synRetries = n)),
  tcp_synack_retries: (v, s) => integer(v, (n) => ((s as { synAckRetries: number }).synAckRetries = n)),
  tcp_retries2: (v, s) => integer(v, (n) => ((s as { dataRetries: number }).dataRetries = n)),
  tcp_fin_timeout: (v, s) => integer(v, (n) => ((s as { finWait2TimeoutUs: number }).finWait2TimeoutUs = n * 1_000_000)),
  tcp_rfc1337: (v, s) => integer(v, (n) => ((s as { rfc1337: boolean }).rfc1337 = n !== 0)),
  tcp_rto_max_ms: (v, s) => integer(v, (n) => ((s as { rtoMaxUs: number }).rtoMaxUs = n * 1_000)),
  tcp_rto_min_us: (v, s) => integer(v, (n) => ((s as { rtoMinUs: number }).rtoMinUs = n)),
  tcp_invalid_ratelimit: (v, s) => integer(v, (n) => ((s as { invalidRateLimitUs: number }).invalidRateLimitUs = n * 1_000)),
  tcp_wmem: (v, s) => {
    const parts = v.trim().split(/\s+/);
    if (parts.length !== 3) return `expected three numbers, got "${v}"`;
    return integer(parts[1]!, (n) => ((s as { sendBufferBytes: number }).sendBufferBytes = n));
  },
  // tcp_rmem[2] is the most a receive buffer may grow to, which sets the window scale offered
  // (tcp_select_initial_window).
  tcp_rmem: (v, s) => {
    const parts = v.trim().split(/\s+/);
    if (parts.length !== 3) return `expected three numbers, got "${v}"`;
    return integer(parts[2]!, (n) => ((s as { rmemMaxBytes: number }).rmemMaxBytes = n));
  },
  tcp_timestamps: (v, s) =>
    integer(v, (n) => {
      if (n > 2) throw new SettingsError(`sysctl tcp_timestamps must be 0, 1 or 2, got ${n}`);
      (s as { timestamps: number }).timestamps = n;
    }),
  tcp_early_retrans: (v, s) =>
    integer(v, (n) => {
      if (n > 4) throw new SettingsError(`sysctl tcp_early_retrans must be 0 to 4, got ${n}`);
      (s as { earlyRetrans: number }).earlyRetrans = n;
    }),
  tcp_sack: (v, s) => integer(v, (n) => ((s as { sack: boolean }).sack = n !== 0)),
  tcp_window_scaling: (v, s) => integer(v, (n) => ((s as { windowScaling: boolean }).windowScaling = n !== 0)),
  ip_local_port_range: (v, s) => {
    const parts = v.trim().split(/\s+/).map(Number);
    if (parts.length !== 2 || !parts.every(Number.isInteger)) return `expected two port numbers, got "${v}"`;
    (s as { ephemeralPortMin: number }).ephemeralPortMin = parts[0]!;
    (s as { ephemeralPortMax: number }).ephemeralPortMax = parts[1]!;
    return null;
  },
};

/** Sysctls read and ignored, with why: they change how fast bytes move, not the lifecycle. */
const IGNORED: Readonly<Record<string, string>> = {
  tcp_frto: 'F-RTO not modelled',
  tcp_dsack: 'D-SACK not modelled',
  tcp_fack: 'FACK not modelled (0: nothing to do)',
  tcp_reordering: 'fast retransmit not modelled',
  tcp_congestion_control: 'congestion control not modelled',
  tcp_slow_start_after_idle: 'congestion control not modelled',
  tcp_recovery: 'RACK not modelled',
  tcp_tso_win_divisor: 'no TSO: segments are joined when matched',
  tcp_min_tso_segs: 'no TSO: segments are joined when matched',
  tcp_ecn: 'ECN not modelled (0: nothing to do)',
  tcp_ecn_option: 'ECN not modelled',
  tcp_pacing_ss_ratio: 'pacing not modelled',
  tcp_pacing_ca_ratio: 'pacing not modelled',
  tcp_notsent_lowat: 'no limit on unsent data either way',
  tcp_fastopen: 'TCP Fast Open not modelled',
  tcp_fastopen_key: 'TCP Fast Open not modelled',
  tcp_syncookies: 'SYN cookies not modelled (no script overflows the SYN queue)',
  tcp_metrics: 'nothing is cached per destination',
};

/** The sysctls every copy of packetdrill's defaults.sh sets (google's and the kernel's). */
const DEFAULTS_SH: readonly [string, string][] = [
  ['tcp_rmem', '4096 540000 15728640'],
  ['tcp_wmem', '4096 262144 4194304'],
  ['tcp_timestamps', '1'],
  ['tcp_syn_retries', '5'],
  ['tcp_synack_retries', '5'],
  ['tcp_frto', '2'],
  ['tcp_sack', '1'],
  ['tcp_dsack', '1'],
  ['tcp_fack', '0'],
  ['tcp_reordering', '3'],
  ['tcp_congestion_control', 'cubic'],
  ['tcp_slow_start_after_idle', '0'],
  ['tcp_early_retrans', '4'],
  ['tcp_recovery', '1'],
  ['tcp_tso_win_divisor', '3'],
  ['tcp_ecn', '0'],
  ['tcp_pacing_ss_ratio', '200'],
  ['tcp_pacing_ca_ratio', '120'],
  ['tcp_notsent_lowat', '4294967295'],
  ['tcp_fastopen', '0x3'],
  ['tcp_syncookies', '1'],
];

/** Header options: those with a meaning here, and those that need none (with why). */
const HEADER_IGNORED: Readonly<Record<string, string>> = {
  mss: 'inbound packets are never split into GSO segments here: the host takes a segment of any length',
  ip_version: 'IPv4 only',
  local_ip: 'the host is 192.168.0.1',
  remote_ip: 'the peer is 192.0.2.1',
  psp_udp_port: 'PSP not modelled',
  strict_segments: 'outbound segments are joined only to reach the expected length',
  non_fatal: 'every difference is reported',
};

export class SettingsError extends Error {
  override readonly name = 'SettingsError';
}

export function newSettings(): ScriptSettings {
  return { toleranceUs: DEFAULT_TOLERANCE_US, bindPort: 8080, connectPort: 8080, remotePort: 40_000, tsTickUs: 0, tsEcrScaled: false, stack: {}, notes: [] };
}

export function applyHeaderOption(settings: ScriptSettings, name: string, value: string | null): void {
  if (name === 'tolerance_usecs') {
    const n = Number(value);
    if (value === null || !Number.isInteger(n) || n < 0) throw new SettingsError(`--tolerance_usecs needs a non-negative integer, got ${value ?? 'nothing'}`);
    settings.toleranceUs = n;
    return;
  }
  if (name === 'bind_port' || name === 'connect_port' || name === 'remote_port') {
    const n = Number(value);
    if (value === null || !Number.isInteger(n) || n < 1 || n > 65535) throw new SettingsError(`--${name} needs a port number from 1 to 65535, got ${value ?? 'nothing'}`);
    if (name === 'bind_port') settings.bindPort = n;
    else if (name === 'connect_port') settings.connectPort = n;
    else settings.remotePort = n;
    return;
  }
  if (name === 'tcp_ts_tick_usecs') {
    const n = Number(value);
    if (value === null || !Number.isInteger(n) || n < 0) throw new SettingsError(`--tcp_ts_tick_usecs needs a non-negative integer, got ${value ?? 'nothing'}`);
    settings.tsTickUs = n;
    return;
  }
  if (name === 'tcp_ts_ecr_scaled') {
    if (value !== null) throw new SettingsError(`--tcp_ts_ecr_scaled takes no value, got ${value}`);
    settings.tsEcrScaled = true;
    return;
  }
  const why = HEADER_IGNORED[name];
  if (why === undefined) throw new SettingsError(`option --${name} not modelled`);
  settings.notes.push(`--${name}${value !== null ? `=${value}` : ''} ignored: ${why}`);
}

/**
 * Run an init or in-script command, as far as it means anything here: `defaults.sh` (either
 * copy), `sysctl -q net.ipv4.NAME=VALUE`, `set_sysctls.py /proc/sys/net/ipv4/NAME=VALUE`, and the
 * sysctl restore script. Returns a reason when a part of it cannot be run.
 */
export function applyCommand(settings: ScriptSettings, text: string): string | null {
  for (const raw of text.split(/\n|;|&&/)) {
    const line = raw.trim();
    if (line === '') continue;
    if (/(^|\/)defaults\.sh$/.test(line)) {
      for (const [name, value] of DEFAULTS_SH) applySysctl(settings, name, value);
      settings.notes.push('defaults.sh: sysctls mapped to stack settings (synRetries 5, synAckRetries 5, sendBufferBytes 262144, rmemMaxBytes 15728640, timestamps 1, sack on, earlyRetrans 4); the rest ignored (D-SACK, RACK, congestion control, pacing, ECN, TFO not modelled)');
      continue;
    }
    if (/sysctl_restore_.*\.sh$/.test(line)) continue;
    // The simulator has no GSO: each skb holds one MSS (tcb-send.ts), as Linux with this.
    if (/^ip link set (dev )?tun0 gso_max_segs 1$/.test(line)) {
      settings.notes.push(`\`${line}\`: what the simulator models already (no GSO: skbs of one MSS)`);
      continue;
    }
    const sysctl = /^sysctl\s+(?:-q\s+)?(.+)$/.exec(line);
    const setSysctls = /set_sysctls\.py\s+(.+)$/.exec(line);
    const assignments = sysctl?.[1] ?? setSysctls?.[1];
    if (assignments !== undefined) {
      for (const assignment of assignments.match(/\S+="[^"]*"|\S+/g) ?? []) {
        const m = /^(?:\/proc\/sys\/)?net[./]ipv4[./]([a-z0-9_]+)=(.*)$/.exec(assignment);
        if (m === null) return `command \`${line}\` not runnable: "${assignment}" is not a net.ipv4 sysctl`;
        const problem = applySysctl(settings, m[1]!, m[2]!.replace(/^"|"$/g, ''));
        if (problem !== null) return problem;
      }
      continue;
    }
    return `command \`${line}\` not runnable in the simulator`;
  }
  return null;
}

function applySysctl(settings: ScriptSettings, name: string, value: string): string | null {
  const mapped = MAPPED[name];
  if (mapped !== undefined) {
    const problem = mapped(value, settings.stack);
    return problem === null ? null : `sysctl ${name}: ${problem}`;
  }
  const why = IGNORED[name];
  if (why !== undefined) return null;
  return `sysctl ${name} not modelled`;
}

function integer(value: string, set: (n: number) => void): string | null {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) return `expected a non-negative integer, got "${value}"`;
  set(n);
  return null;
}
