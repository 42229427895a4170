/**
 * Weakened monitors, for the mutation test of the monitors (issue 14 item 4): each is a monitor
 * with part of its promise dropped — one side of a two-sided check, one cause of a violation, a
 * class of events it no longer sees, or a bound moved by one step — and names the test that
 * must then fail. `escapes`: the zoo's search for that mutant (properties/mutants.test.ts), run
 * with the weakened monitor, finds nothing. `falseAlarm`: the weakened monitor fails the
 * reference endpoint in that suite (properties/suites.test.ts would fail).
 *
 * Weakening by subclass, not by editing the monitors: `report` and `onEvent` are the seams every
 * monitor has, so the monitors carry no test hooks.
 */
import { AbortMonitor, CloseShapeMonitor, OrphanFinWait2Monitor, StreamMonitor } from '../src/check/close-monitors.js';
import type { Monitor, MonitorContext } from '../src/check/index.js';
import { BindInUseMonitor, LegalTransitionsMonitor, TerminationMonitor } from '../src/check/lifecycle-monitors.js';
import type { BaseMonitor } from '../src/check/monitor.js';
import { FinAckMonitor, SeqSpaceMonitor, SynAckMonitor } from '../src/check/sequence-monitors.js';
import { NoStaleSegmentMonitor, TimeWait2MslMonitor, TimeWaitSideMonitor } from '../src/check/time-wait-monitors.js';
import { ConnectResultMonitor, EphemeralPortMonitor, HostResetMonitor, ListenConflictMonitor, TimeWaitSynMonitor } from '../src/check/wire-monitors.js';
import { TimestampsMonitor } from '../src/check/timestamp-monitors.js';
import type { ConnInfo, TraceEvent } from '../src/world/trace.js';

type MonitorClass = new (context: MonitorContext) => BaseMonitor;

export interface Weakening {
  /** The monitor weakened (its name). */
  readonly monitor: string;
  /** What was dropped, in a few words. */
  readonly weakness: string;
  readonly make: (context: MonitorContext) => Monitor;
  /** The test that fails: a zoo mutant that gets past it, or a suite in which it fails the reference. */
  readonly killedBy: { readonly escapes: string } | { readonly falseAlarm: string };
}

/** BaseMonitor's protected `report`, reached from outside for the weakened copies. */
interface Reporting {
  report(atUs: number, eventIndex: number, conn: ConnInfo | null, message: string): void;
}

/** The monitor, but violations whose message `drop` matches are never reported. */
function silenced(Base: MonitorClass, drop: (message: string) => boolean): (context: MonitorContext) => Monitor {
  return (context) => {
    const monitor = new Base(context);
    const reporting = monitor as unknown as Reporting;
    const report = reporting.report.bind(monitor);
    reporting.report = (atUs, eventIndex, conn, message) => {
      if (!drop(message)) report(atUs, eventIndex, conn, message);
    };
    return monitor;
  };
}

/** The monitor, blind to the events `hide` matches. */
function blind(Base: MonitorClass, hide: (event: TraceEvent) => boolean): (context: MonitorContext) => Monitor {
  return (context) => {
    const monitor = new Base(context);
    const onEvent = monitor.onEvent.bind(monitor);
    monitor.onEvent = (event, index) => {
      if (!hide(event)) onEvent(event, index);
    };
    return monitor;
  };
}

/** The monitor with one setting of its context moved. */
function shifted(Base: MonitorClass, shift: (context: MonitorContext) => MonitorContext): (context: MonitorContext) => Monitor {
  return (context) => new Base(shift(context));
}

/** `got` and `expected` read from a message by `pattern`: got − expected, mod 2^32, as a signed 32-bit number. */
function gap(message: string, pattern: RegExp): number | null {
  const m = pattern.exec(message);
  if (m === null) return null;
  return (Number(m[1]) - Number(m[2])) | 0;
}

const SYN_ACK = /ACK of SYN is (\d+), expected ISN\+1 = (\d+)/;
const FIN_ACK = /ACK after the peer's FIN is (\d+), expected FIN seq \+ 1 = (\d+)/;
const LASTED = /TIME-WAIT lasted (\d+) us since the last segment that restarted it, expected 2·MSL = (\d+) us/;
const SYN_COUNT = /ETIMEDOUT after (\d+) SYNs; tcp_syn_retries gives (\d+)/;
const has = (text: string) => (message: string) => message.includes(text);

export const WEAKENINGS: readonly Weakening[] = [
  { monitor: 'syn-ack', weakness: 'only an ACK below ISN+1 is wrong', make: silenced(SynAckMonitor, (m) => (gap(m, SYN_ACK) ?? 0) > 0), killedBy: { escapes: 'syn-ack-plus-two' } },
  { monitor: 'syn-ack', weakness: 'only an ACK above ISN+1 is wrong', make: silenced(SynAckMonitor, (m) => (gap(m, SYN_ACK) ?? 0) < 0), killedBy: { escapes: 'syn-ack-no-plus-one' } },
  { monitor: 'fin-ack', weakness: 'only an ACK below the FIN seq + 1 is wrong', make: silenced(FinAckMonitor, (m) => (gap(m, FIN_ACK) ?? 0) > 0), killedBy: { escapes: 'fin-ack-plus-two' } },
  { monitor: 'fin-ack', weakness: 'only an ACK above the FIN seq + 1 is wrong', make: silenced(FinAckMonitor, (m) => (gap(m, FIN_ACK) ?? 0) < 0), killedBy: { escapes: 'fin-ack-no-plus-one' } },
  {
    monitor: 'time-wait-2msl',
    weakness: 'only a TIME-WAIT shorter than 2·MSL is wrong',
    make: silenced(TimeWait2MslMonitor, (m) => (gap(m, LASTED) ?? 0) > 0 || m.includes('past 2·MSL')),
    killedBy: { escapes: 'time-wait-3msl' },
  },
  { monitor: 'time-wait-2msl', weakness: 'only a TIME-WAIT longer than 2·MSL is wrong', make: silenced(TimeWait2MslMonitor, (m) => (gap(m, LASTED) ?? 0) < 0), killedBy: { escapes: 'time-wait-1msl' } },
  { monitor: 'time-wait-2msl', weakness: 'no restart from a retransmitted FIN (blind to delivered FINs)', make: blind(TimeWait2MslMonitor, (e) => e.type === 'segment' && e.fate === 'delivered' && (e.seg.flags & 1) !== 0), killedBy: { falseAlarm: 'time-wait' } },
  { monitor: 'time-wait-2msl', weakness: 'a RST from the 4-tuple is allowed', make: silenced(TimeWait2MslMonitor, has('a RST (seq')), killedBy: { escapes: 'time-wait-rst-restarts' } },
  { monitor: 'time-wait-side', weakness: 'a passive closer may enter TIME-WAIT', make: silenced(TimeWaitSideMonitor, has('passive closer entered TIME-WAIT')), killedBy: { escapes: 'passive-time-wait' } },
  { monitor: 'time-wait-side', weakness: 'an active closer may skip TIME-WAIT', make: silenced(TimeWaitSideMonitor, has('without TIME-WAIT')), killedBy: { escapes: 'no-time-wait' } },
  {
    monitor: 'no-stale-segment',
    weakness: 'off by one: only a segment two or more incarnations old is stale',
    make: silenced(NoStaleSegmentMonitor, (m) => {
      const found = /^incarnation (\d+) accepted .* sent by incarnation (\d+)/.exec(m);
      return found !== null && Number(found[1]) - Number(found[2]) === 1;
    }),
    killedBy: { escapes: 'accept-out-of-window' },
  },
  { monitor: 'bind-in-use', weakness: 'a bind that succeeds is never wrong', make: silenced(BindInUseMonitor, has('succeeded, but')), killedBy: { escapes: 'bind-ignores-time-wait' } },
  { monitor: 'bind-in-use', weakness: 'an EADDRINUSE is never wrong', make: silenced(BindInUseMonitor, has('failed with EADDRINUSE')), killedBy: { escapes: 'bind-refuses-reuse' } },
  { monitor: 'abort', weakness: 'a linger close need not send RST', make: silenced(AbortMonitor, has('did not send RST')), killedBy: { escapes: 'abort-sends-fin' } },
  { monitor: 'abort', weakness: 'linger is not inherited by accept() (the accept calls unseen)', make: blind(AbortMonitor, (e) => e.type === 'call' && e.call.op === 'accept'), killedBy: { escapes: 'linger-not-inherited' } },
  { monitor: 'stream', weakness: 'an early end-of-file is no violation', make: silenced(StreamMonitor, (m) => m.startsWith('end-of-file after')), killedBy: { escapes: 'drops-data-with-fin' } },
  { monitor: 'stream', weakness: 'bytes compared by count only', make: silenced(StreamMonitor, (m) => m.startsWith('byte ')), killedBy: { escapes: 'retransmits-shifted-bytes' } },
  { monitor: 'stream', weakness: 'more bytes than were sent is no violation', make: silenced(StreamMonitor, (m) => m.includes('sent only') || m.startsWith('end-of-file after')), killedBy: { escapes: 'delivers-duplicates' } },
  { monitor: 'termination', weakness: 'a passive closer left in LAST-ACK is no violation', make: silenced(TerminationMonitor, has('still LAST-ACK')), killedBy: { escapes: 'stuck-in-last-ack' } },
  { monitor: 'legal-transitions', weakness: 'any edge into TIME-WAIT is legal', make: silenced(LegalTransitionsMonitor, has('=>TIME-WAIT')), killedBy: { escapes: 'passive-time-wait' } },
  { monitor: 'seq-space', weakness: 'an ACK of unsent data is no violation', make: silenced(SeqSpaceMonitor, has('acknowledges beyond')), killedBy: { escapes: 'acks-beyond' } },
  { monitor: 'close-shape', weakness: 'a prompt close may take four segments', make: silenced(CloseShapeMonitor, has('expected the 3-segment close')), killedBy: { escapes: 'acks-fin-at-once' } },
  { monitor: 'close-shape', weakness: 'a slow close may take three segments', make: silenced(CloseShapeMonitor, has('expected 4 or more')), killedBy: { escapes: 'fin-ack-held-back' } },
  { monitor: 'close-shape', weakness: 'a FIN before any data may wait 40 ms for its ACK', make: silenced(CloseShapeMonitor, has('ACK due at the next tick')), killedBy: { escapes: 'delays-ack-before-data' } },
  { monitor: 'orphan-fin-wait-2', weakness: 'an orphan may be gone before tcp_fin_timeout', make: silenced(OrphanFinWait2Monitor, has('before tcp_fin_timeout')), killedBy: { escapes: 'orphan-timeout-half' } },
  { monitor: 'orphan-fin-wait-2', weakness: 'an orphan may outlive tcp_fin_timeout', make: silenced(OrphanFinWait2Monitor, has('outlived')), killedBy: { escapes: 'orphan-never-times-out' } },
  { monitor: 'connect-result', weakness: 'a refusal may give any error', make: silenced(ConnectResultMonitor, has('not ECONNREFUSED')), killedBy: { escapes: 'refused-as-reset' } },
  { monitor: 'connect-result', weakness: 'ETIMEDOUT after too few SYNs is no violation', make: silenced(ConnectResultMonitor, (m) => (gap(m, SYN_COUNT) ?? 0) < 0), killedBy: { escapes: 'syn-retries-3' } },
  { monitor: 'connect-result', weakness: 'ETIMEDOUT after too many SYNs is no violation', make: silenced(ConnectResultMonitor, (m) => (gap(m, SYN_COUNT) ?? 0) > 0), killedBy: { escapes: 'syn-retries-9' } },
  { monitor: 'connect-result', weakness: 'off by one: one SYN too many expected before ETIMEDOUT', make: shifted(ConnectResultMonitor, (c) => ({ ...c, synsBeforeTimeout: (c.synsBeforeTimeout ?? (c.synRetries ?? 0) + 1) + 1 })), killedBy: { falseAlarm: 'handshake' } },
  { monitor: 'host-reset', weakness: 'the reset\'s ACK field is not checked', make: silenced(HostResetMonitor, (m) => m.includes(': ack ')), killedBy: { escapes: 'reset-ack-plus-one' } },
  { monitor: 'host-reset', weakness: 'a SYN to an unused port may go unanswered', make: silenced(HostResetMonitor, has('got no RST,ACK')), killedBy: { escapes: 'no-reset-for-syn' } },
  { monitor: 'host-reset', weakness: 'a reset may answer a reset', make: silenced(HostResetMonitor, has('answered a RST')), killedBy: { escapes: 'reset-answers-reset' } },
  { monitor: 'time-wait-syn', weakness: 'a SYN above RCV.NXT may be refused', make: silenced(TimeWaitSynMonitor, has('opened no new incarnation')), killedBy: { escapes: 'time-wait-refuses-syn' } },
  { monitor: 'time-wait-syn', weakness: "the new incarnation's ISN is not checked", make: silenced(TimeWaitSynMonitor, has("the new incarnation's ISN")), killedBy: { escapes: 'time-wait-isn-plus-one' } },
  { monitor: 'time-wait-syn', weakness: 'a SYN at or below RCV.NXT may open one', make: silenced(TimeWaitSynMonitor, has('not above')), killedBy: { escapes: 'time-wait-takes-any-syn' } },
  { monitor: 'listen-conflict', weakness: 'a second listen() may succeed', make: silenced(ListenConflictMonitor, has('succeeded while')), killedBy: { escapes: 'double-listen' } },
  { monitor: 'listen-conflict', weakness: 'an EADDRINUSE from listen() is never wrong', make: silenced(ListenConflictMonitor, has('failed with EADDRINUSE')), killedBy: { escapes: 'listen-ignores-reuseaddr' } },
  { monitor: 'ephemeral-port', weakness: 'any port is ephemeral', make: silenced(EphemeralPortMonitor, has('outside the ephemeral range')), killedBy: { escapes: 'ephemeral-ports-low' } },
  { monitor: 'ephemeral-port', weakness: 'a 4-tuple still held may be picked', make: silenced(EphemeralPortMonitor, has('still holds')), killedBy: { escapes: 'ephemeral-port-over-time-wait' } },
  { monitor: 'ephemeral-port', weakness: 'a bound port may be left unused', make: silenced(EphemeralPortMonitor, has('on a socket bound to port')), killedBy: { escapes: 'connect-ignores-bound-port' } },
  { monitor: 'timestamps', weakness: 'a TSval may go backwards', make: silenced(TimestampsMonitor, has('older than')), killedBy: { escapes: 'time-wait-ts-no-offset' } },
  { monitor: 'timestamps', weakness: 'TSecr is not checked', make: silenced(TimestampsMonitor, has('echoes TSecr')), killedBy: { escapes: 'tsecr-plus-one' } },
  { monitor: 'connect-result', weakness: 'EADDRNOTAVAIL is never wrong', make: silenced(ConnectResultMonitor, has('returned EADDRNOTAVAIL')), killedBy: { escapes: 'ephemeral-range-one-port' } },
  { monitor: 'time-wait-side', weakness: "the endpoint's word for a bucket overflow is taken", make: silenced(TimeWaitSideMonitor, has('for a full tcp_max_tw_buckets')), killedBy: { escapes: 'tw-buckets-one-short' } },
  { monitor: 'time-wait-2msl', weakness: 'a TIME-WAIT without timestamps may be taken over', make: silenced(TimeWait2MslMonitor, has('without timestamps taken over')), killedBy: { escapes: 'tw-reuse-without-timestamps' } },
];
