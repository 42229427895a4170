/**
 * Stack settings. Defaults are Linux's where RFC 9293 leaves room; each says which knob it is.
 */

export interface StackConfig {
  /** Maximum Segment Lifetime. TIME-WAIT lasts `timeWaitUs`, 2·MSL unless set otherwise. */
  readonly mslUs: number;
  /** RFC 9293 §3.6.1: 2·MSL. Linux hard-codes TCP_TIMEWAIT_LEN = 60 s, i.e. MSL = 30 s. */
  readonly timeWaitUs: number;
  /** Linux tcp_fin_timeout (60 s): how long an orphaned FIN-WAIT-2 waits for the peer's FIN. */
  readonly finWait2TimeoutUs: number;
  /** RFC 6298 §2.1 initial RTO, 1 s (Linux TCP_TIMEOUT_INIT). */
  readonly rtoInitialUs: number;
  /** RFC 6298 §2.4 says 1 s; Linux uses TCP_RTO_MIN = 200 ms. */
  readonly rtoMinUs: number;
  /** Linux TCP_RTO_MAX = 120 s. */
  readonly rtoMaxUs: number;
  /**
   * Linux tcp_syn_retries = 6: SYN retransmissions of connect() after the linear ones below
   * (tcp_write_timeout allows tcp_syn_retries + tcp_syn_linear_timeouts in SYN-SENT), and the
   * boundary of its time limit (retransmits_timed_out). Tcb-timers.ts has the rules.
   */
  readonly synRetries: number;
  /** Linux tcp_syn_linear_timeouts = 4: the first this many SYN retransmissions keep the initial RTO (1 s apart), then it doubles. */
  readonly synLinearTimeouts: number;
  /** Linux tcp_synack_retries = 5: SYN,ACK retransmissions of a half-open connection, exponential from 1 s (reqsk_timer_handler). */
  readonly synAckRetries: number;
  /**
   * Linux tcp_abort_on_overflow = 0: the handshake's final ACK that finds the accept queue full
   * is ignored (the SYN,ACK is retransmitted); 1 answers it with a RST (tcp_check_req).
   */
  readonly abortOnOverflow: boolean;
  /**
   * Linux tcp_sack (1 in Linux, false here: README, "Deliberately left out"): offer sackOK in SYN
   * and SYN,ACK; once both did, ACKs carry SACK blocks for out-of-order data (RFC 2018 §4). The
   * sender does not use the blocks it receives (no SACK recovery), but the tail-loss probe needs
   * a SACK connection, as Linux's does (tcp_schedule_loss_probe, tcp_is_sack).
   */
  readonly sack: boolean;
  /** Linux tcp_early_retrans = 3: the tail-loss probe (RFC 8985 §7) runs when this is 3 or 4. */
  readonly earlyRetrans: number;
  /** Linux tcp_retries2 = 15 (counted here, not converted to a time as Linux does). */
  readonly dataRetries: number;
  /** Our MSS, sent in the SYN's MSS option (Ethernet: 1460). */
  readonly mss: number;
  /**
   * The default receive buffer (Linux tcp_rmem[1], whose window Linux autotunes): a socket
   * without SO_RCVBUF advertises what is free of it. A socket with SO_RCVBUF chooses its window
   * as Linux does (tcb-options.ts).
   */
  readonly receiveBufferBytes: number;
  /** The default send buffer (Linux tcp_wmem[1], autotuned by Linux); `send` accepts at most what is free of it. SO_SNDBUF sets it per socket. */
  readonly sendBufferBytes: number;
  /** Delayed ACKs (RFC 9293 §3.8.6.3, RFC 1122 §4.2.3.2). 0 = ACK every segment at once. Linux TCP_DELACK_MIN = 40 ms. */
  readonly delayedAckUs: number;
  /**
   * Linux's timer tick, one jiffy: 1 s / CONFIG_HZ (a build option, no sysctl), 4 ms at HZ 250
   * (Debian's and this project's reference kernel's). Timers armed for "now" fire at the next
   * tick: the delayed ACK of a FIN that came before any data (tcb-receive.ts scheduleAck).
   * Ticks fall on multiples of it in virtual time.
   */
  readonly jiffyUs: number;
  /** Linux's quick-ACK mode at connection start: this many ACKs go out at once before delaying. */
  readonly quickAcks: number;
  /** Linux tcp_invalid_ratelimit = 500 ms: out-of-window and challenge ACKs without data, at most one per this. */
  readonly invalidRateLimitUs: number;
  /** Linux tcp_rfc1337 = 0: an in-window RST kills TIME-WAIT ("TIME-WAIT assassination"). */
  readonly rfc1337: boolean;
  /** Ephemeral port range, inclusive (Linux ip_local_port_range 32768–60999). */
  readonly ephemeralPortMin: number;
  readonly ephemeralPortMax: number;
  /** ISN choice (RFC 9293 §3.4.1, RFC 6528). */
  readonly isn: IsnPolicy;
  /**
   * Linux tcp_timestamps = 1: RFC 7323 timestamps in SYN and SYN,ACK and, once both sides sent
   * them, every later segment, with a per-connection random offset (secure_tcp_ts_off); 2 = the
   * same without the offset (TSval is the host's millisecond clock); 0 = off.
   */
  readonly timestamps: 0 | 1 | 2;
  /** Linux tcp_window_scaling = 1: offer the RFC 7323 §2 window scale option in SYN and SYN,ACK. */
  readonly windowScaling: boolean;
  /**
   * Linux tcp_rmem[2] = 6 MiB, the most the receive buffer may grow to; the window scale we offer
   * is chosen from it as tcp_select_initial_window does (ilog2(space) − 15, so 7 at 6 MiB), even
   * though our window stays within `receiveBufferBytes`.
   */
  readonly rmemMaxBytes: number;
  /** Linux net.core.rmem_max = 212992: the most SO_RCVBUF may ask for (then doubled, host.ts). */
  readonly netCoreRmemMaxBytes: number;
  /** Linux net.core.wmem_max = 212992: the most SO_SNDBUF may ask for (then doubled). */
  readonly netCoreWmemMaxBytes: number;
  /**
   * Linux tcp_tw_reuse = 2: connect()'s ephemeral port search may take over a 4-tuple in
   * TIME-WAIT that used timestamps, once it is `twReuseDelayUs` old (tcp_twsk_unique): 0 never,
   * 1 always, 2 only for loopback (here: both ends on one host).
   */
  readonly twReuse: 0 | 1 | 2;
  /** Linux tcp_tw_reuse_delay = 1000 ms. */
  readonly twReuseDelayUs: number;
  /**
   * Linux tcp_max_tw_buckets: past this many connections in TIME-WAIT a closing connection skips
   * TIME-WAIT and is gone at once, counted as TCPTimeWaitOverflow. Linux sizes it from memory
   * (half the established hash); 262,144 is its value with a 512 Ki-entry hash.
   */
  readonly maxTwBuckets: number;
}

export type IsnPolicy =
  | { readonly kind: 'rfc6528' }
  | { readonly kind: 'random' }
  | { readonly kind: 'fixed'; readonly value: number };

const SECOND_US = 1_000_000;

export const LINUX_DEFAULTS: StackConfig = Object.freeze({
  mslUs: 30 * SECOND_US,
  timeWaitUs: 60 * SECOND_US,
  finWait2TimeoutUs: 60 * SECOND_US,
  rtoInitialUs: 1 * SECOND_US,
  rtoMinUs: 200_000,
  rtoMaxUs: 120 * SECOND_US,
  synRetries: 6,
  synLinearTimeouts: 4,
  synAckRetries: 5,
  abortOnOverflow: false,
  sack: false,
  earlyRetrans: 3,
  dataRetries: 15,
  mss: 1460,
  receiveBufferBytes: 65535,
  sendBufferBytes: 65535 * 4,
  delayedAckUs: 40_000,
  jiffyUs: 4_000,
  quickAcks: 16,
  invalidRateLimitUs: 500_000,
  rfc1337: false,
  ephemeralPortMin: 32768,
  ephemeralPortMax: 60999,
  isn: { kind: 'rfc6528' } as IsnPolicy,
  timestamps: 1,
  windowScaling: true,
  rmemMaxBytes: 6 * 1024 * 1024,
  netCoreRmemMaxBytes: 212_992,
  netCoreWmemMaxBytes: 212_992,
  twReuse: 2,
  twReuseDelayUs: 1_000_000,
  maxTwBuckets: 262_144,
});

/** Settings with an MSL; TIME-WAIT follows as 2·MSL unless given. */
export function stackConfig(overrides: Partial<StackConfig> = {}): StackConfig {
  const mslUs = overrides.mslUs ?? LINUX_DEFAULTS.mslUs;
  const config = { ...LINUX_DEFAULTS, timeWaitUs: 2 * mslUs, ...overrides, mslUs };
  validateStackConfig(config);
  return config;
}

function validateStackConfig(config: StackConfig): void {
  for (const [name, value] of Object.entries(config)) {
    if (typeof value === 'number' && (!Number.isSafeInteger(value) || value < 0)) {
      throw new Error(`stack config ${name} must be a non-negative integer, got ${value}`);
    }
  }
  if (config.mss < 1) throw new Error('stack config mss must be at least 1');
  if (config.jiffyUs < 1) throw new Error('stack config jiffyUs must be at least 1 (one timer tick, 1 s / CONFIG_HZ)');
  if (config.timestamps !== 0 && config.timestamps !== 1 && config.timestamps !== 2) {
    throw new Error(`stack config timestamps must be 0, 1 or 2 (Linux tcp_timestamps), got ${String(config.timestamps)}`);
  }
  if (config.twReuse !== 0 && config.twReuse !== 1 && config.twReuse !== 2) {
    throw new Error(`stack config twReuse must be 0, 1 or 2 (Linux tcp_tw_reuse), got ${String(config.twReuse)}`);
  }
  if (config.ephemeralPortMin < 1 || config.ephemeralPortMax > 65535 || config.ephemeralPortMin > config.ephemeralPortMax) {
    throw new Error(`stack config ephemeral port range ${config.ephemeralPortMin}-${config.ephemeralPortMax} is not within 1-65535`);
  }
}
