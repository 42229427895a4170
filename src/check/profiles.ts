/**
 * Monitor profiles: which promise each monitor judges. `rfc` monitors check what RFC 9293 (and
 * the RFCs it cites) promises of any TCP; `linux` monitors check Linux's choices where the RFC
 * leaves room (three-segment close, Linux's bind and listen rules, its connect timeouts, its
 * TIME-WAIT ISN rule). The reference runs with `linux` (every monitor); an external stack runs
 * with `rfc` by default, so it is not failed for not being Linux (`--profile` overrides).
 *
 * One table, next to the monitors rather than in each of them, so a monitor's profile is read
 * and reviewed in one place. A monitor missing here is treated as `linux` (not applied to other
 * stacks until somebody decides); profiles.test.ts insists every monitor is listed.
 */
export type MonitorProfile = 'rfc' | 'linux';

export const PROFILES: readonly MonitorProfile[] = ['rfc', 'linux'];

export const MONITOR_PROFILES: Readonly<Record<string, { readonly profile: MonitorProfile; readonly why: string }>> = {
  'syn-ack': { profile: 'rfc', why: 'RFC 9293 §3.4: a SYN takes one sequence number, so its ACK is ISN+1' },
  'fin-ack': { profile: 'rfc', why: 'RFC 9293 §3.4: a FIN takes one sequence number' },
  'seq-space': { profile: 'rfc', why: 'RFC 9293 §3.3.1: SND.UNA ≤ SND.NXT, nothing acknowledges unsent data' },
  'time-wait-2msl': { profile: 'rfc', why: 'RFC 9293 §3.6.1: TIME-WAIT lasts 2·MSL, and a TIME-WAIT answers a retransmitted FIN with an ACK' },
  'time-wait-side': { profile: 'rfc', why: 'RFC 9293 §3.6.1, Figure 5: only the side that closes first enters TIME-WAIT' },
  'no-stale-segment': { profile: 'rfc', why: 'RFC 9293 §3.4.1, §3.6.1: TIME-WAIT keeps old duplicates out of a new incarnation' },
  abort: { profile: 'rfc', why: 'RFC 9293 §3.10.5 ABORT: send RST, flush queues, no TIME-WAIT' },
  stream: { profile: 'rfc', why: 'RFC 9293 §2.2: a reliable, ordered byte stream' },
  termination: { profile: 'rfc', why: 'RFC 9293 §3.8.3: retransmission gives up; every connection ends' },
  'legal-transitions': { profile: 'rfc', why: 'RFC 9293 §3.3.2, Figure 5 and the reset edges of §3.10.7' },
  'host-reset': { profile: 'rfc', why: 'RFC 9293 §3.10.7.1: a segment to no connection gets a reset with those fields' },
  'ephemeral-port': { profile: 'linux', why: "Linux's ip_local_port_range (32768–60999); other stacks use IANA's 49152–65535 (RFC 6335 §6), lwIP among them" },
  'bind-in-use': { profile: 'linux', why: "Linux inet_csk_bind_conflict's SO_REUSEADDR rule (RFC 9293 has no bind)" },
  'listen-conflict': { profile: 'linux', why: "Linux's listen() EADDRINUSE rule (RFC 9293 has no sockets API)" },
  'orphan-fin-wait-2': { profile: 'linux', why: "Linux tcp_fin_timeout: RFC 9293 lets FIN-WAIT-2 wait for ever; Linux ends an orphaned one after 60 s" },
  'close-shape': { profile: 'linux', why: "Linux's delayed ACK and ping-pong mode make the three-segment close (C7)" },
  'connect-result': { profile: 'linux', why: 'Linux tcp_syn_retries and its connect() errors' },
  timestamps: { profile: 'rfc', why: 'RFC 7323 §3.2, §5.2: TSval is monotonic and TSecr echoes a TSval that arrived' },
  'time-wait-syn': { profile: 'linux', why: 'Linux tcp_timewait_state_process: a new incarnation from TIME-WAIT with ISN = SND.NXT + 65537' },
};

/** Is `monitor` applied under `profile`? `linux` applies every monitor; `rfc` only the RFC's. */
export function monitorInProfile(monitor: string, profile: MonitorProfile): boolean {
  if (profile === 'linux') return true;
  return MONITOR_PROFILES[monitor]?.profile === 'rfc';
}
