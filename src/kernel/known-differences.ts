/**
 * What this machine's Linux does differently from the simulator on the example scenarios, each
 * with the reason. The differential test (kernel.test.ts) fails on any difference not listed
 * here; docs/kernel-differences.md shows the same table, and a test keeps the two in step.
 */
import type { Difference, DifferenceAspect } from './kernel-run.js';

export interface KnownDifference {
  /** Example file name without `.json`, or `*` for any. */
  readonly scenario: string;
  readonly aspect: DifferenceAspect;
  /** Matched against the difference's text. */
  readonly pattern: RegExp;
  /** What differs, in a few words (the doc's second column). */
  readonly what: string;
  readonly reason: string;
  /** Behaviour that changes with the kernel's version, or with scheduling: said so. */
  readonly dependsOn: 'nothing' | 'kernel version' | 'scheduling' | 'loopback';
}

export const KNOWN_DIFFERENCES: readonly KnownDifference[] = [
  {
    scenario: 'c08-time-wait-2msl',
    aspect: 'calls',
    pattern: /client step 10 bind: kernel EADDRINUSE, simulator ok/,
    what: 'bind 2.1 s after the close: EADDRINUSE on Linux, ok in the simulator',
    reason: 'the scenario sets MSL to 1 s (TIME-WAIT 2 s); Linux\'s TIME-WAIT is fixed at 60 s (TCP_TIMEWAIT_LEN), so the port is still held',
    dependsOn: 'nothing',
  },
  {
    scenario: '*',
    aspect: 'control',
    pattern: /kernel c\d+ (\w+)>(\w+) \[\.\] seq \d+ ack \d+, simulator c\d+ \1>\2 \[[FR]\.\]/,
    what: 'the ACK of a FIN leaves on its own, before the application\'s close: four segments (or ACK then RST) where the simulator sends FIN+ACK (or RST+ACK) in one',
    reason: 'seen when the application\'s close() came 1–3 ms after its read of end-of-file and no data had come before the FIN: Linux\'s delayed-ACK timeout (icsk_ack.ato) is then 0 and the ACK leaves at the next timer tick (tcp_send_delayed_ack); the simulator\'s ticks fall on multiples of 4 ms of virtual time, the kernel\'s anywhere, so a close a millisecond or two after the FIN can fall before the tick on one and after it on the other',
    dependsOn: 'scheduling',
  },
  {
    scenario: '*',
    aspect: 'control',
    pattern: /kernel c\d+ (\w+)>(\w+) \[\.\] seq \d+ ack \d+, simulator c\d+ \2>\1 \[\.\] seq \d+ ack \d+$/,
    what: 'the peer\'s last ACK where the kernel has an ACK of a FIN of its own',
    reason: 'the separate ACK of a FIN (the row above), seen one place later: the kernel\'s extra segment moves the simulator\'s last ACK out of the instant compared',
    dependsOn: 'scheduling',
  },
  {
    scenario: '*',
    aspect: 'control',
    pattern: /kernel c\d+ (\w+)>(\w+) \[F\.\] seq \d+ ack \d+, simulator c\d+ \1>\2 \[\.\] seq \d+ ack \d+$/,
    what: 'the ACK of a FIN rides on the FIN on Linux, and leaves on its own in the simulator',
    reason: 'the other way round from the first row: the application\'s close came a few milliseconds after the read of end-of-file, before Linux\'s delayed ACK had left (the tick it waits for is rounded to jiffies, and the helper\'s calls run late on a loaded machine); the simulator\'s tick came first',
    dependsOn: 'scheduling',
  },
  {
    scenario: 'c14-linger-abort',
    aspect: 'control',
    pattern: /kernel \(none\), simulator c1 client>server \[R\] seq \d+/,
    what: 'the simulator\'s client answers two late ACKs with RSTs; Linux sends none',
    reason: 'with no link delay the simulator delivers a microsecond\'s segments after the sending program\'s calls, so the server\'s ACKs of the data reach the client after its SO_LINGER{1,0} close; on loopback Linux processes each segment while it is sent, so they were ACKed before the close',
    dependsOn: 'nothing',
  },
  {
    scenario: 'c14-linger-abort',
    aspect: 'control',
    pattern: /kernel c1 client>server \[R\.\] seq 2897 ack 1, simulator c1 client>server \[R\.\] seq 2921 ack 1/,
    what: 'the abort\'s RST at 2,897 on Linux, at 2,921 in the simulator',
    reason: 'Linux does not send a segment shorter than the MSS into the last 24 bytes of the 2,920-byte window (sender-side silly-window avoidance, RFC 9293 §3.8.6.2.1; tcp_snd_wnd_test): two 1,448-byte segments go and the abort comes with 2,896 bytes delivered; the simulator fills the window exactly (1,448 + 1,448 + 24). It shows since timestamps (issue #10) made segments 1,448 bytes: 2 × 1,460 filled the window exactly',
    dependsOn: 'nothing',
  },
  {
    scenario: 'c14-linger-abort',
    aspect: 'data',
    pattern: /c1 client>server: kernel 2896 data bytes, simulator 2920/,
    what: '2,896 bytes delivered on Linux, 2,920 in the simulator',
    reason: 'the same silly-window avoidance (the row above)',
    dependsOn: 'nothing',
  },
  {
    scenario: 'c14-linger-abort',
    aspect: 'calls',
    pattern: /server step 5 recv: kernel recv 2896, simulator recv 2920/,
    what: 'the server\'s recv(2920) returns 2,896 on Linux',
    reason: 'the same silly-window avoidance (two rows above)',
    dependsOn: 'nothing',
  },
];

/** Scenarios the kernel side cannot express, with why (the command exits 2 on them). */
export const NOT_EXPRESSIBLE: Readonly<Record<string, string>> = {
  'c10-old-duplicates-die-out': 'old duplicates held back by the network (oldDuplicateRate): a namespace on loopback cannot delay copies; this kernel has no netem',
};

export function knownReason(scenario: string, difference: Difference): KnownDifference | undefined {
  return KNOWN_DIFFERENCES.find((k) => (k.scenario === '*' || k.scenario === scenario) && k.aspect === difference.aspect && k.pattern.test(difference.what));
}

/** A difference between Linux and the simulator on a conformance spec (kernel-conformance.test.ts). */
export interface KnownConformanceDifference extends Omit<KnownDifference, 'scenario'> {
  /** Matched against the spec's description: its test file and test name. */
  readonly test: RegExp;
  /** The specs it concerns, in a few words (the doc's first column). */
  readonly specs: string;
}

export const KNOWN_CONFORMANCE_DIFFERENCES: readonly KnownConformanceDifference[] = [
  {
    test: /./,
    specs: 'any with a lost data segment before a FIN',
    aspect: 'control',
    pattern: /simulator c\d+ \w+>\w+ \[F\.\] seq \d+ ack \d+ \+\d+B$/,
    what: 'the simulator resends the lost data with the FIN joined to it; Linux resends the data alone',
    reason: 'the simulator joins the queued FIN to the retransmitted data, as tcp_retrans_try_collapse may; Linux did not here. Not established why; likely tcp_can_collapse\'s skb_cloned test, since on loopback the receiver\'s out-of-order queue still holds the FIN\'s buffer',
    dependsOn: 'loopback',
  },
  {
    test: /zero window holds the rest of the data|zero window/,
    specs: 'close: zero-window probes',
    aspect: 'control',
    pattern: /kernel c\d+ client>server \[\.\] seq 2896 ack 1, simulator c\d+ client>server \[\.\] seq 2920 ack 1/,
    what: 'the window probes at 2,896 on Linux, at 2,920 in the simulator',
    reason: 'sender-side silly-window avoidance (RFC 9293 §3.8.6.2.1; tcp_snd_wnd_test), as in c14-linger-abort: Linux sends no segment shorter than the MSS into the last 24 bytes of the 2,920-byte window; the simulator fills it',
    dependsOn: 'nothing',
  },
  {
    test: /reuse-linger: .*SO_LINGER/,
    specs: 'reuse-linger: SO_LINGER{1,0} into a 2,920-byte window',
    aspect: 'control',
    pattern: /kernel c\d+ client>server \[R\.\] seq 2897 ack 1, simulator c\d+ client>server \[R\.\] seq 2921 ack 1/,
    what: 'the abort\'s RST at 2,897 on Linux, at 2,921 in the simulator',
    reason: 'the same silly-window avoidance (the row above; c14-linger-abort)',
    dependsOn: 'nothing',
  },
  {
    test: /reuse-linger: .*SO_LINGER/,
    specs: 'reuse-linger: SO_LINGER{1,0} into a 2,920-byte window',
    aspect: 'data',
    pattern: /c1 client>server: kernel 2896 data bytes, simulator 2920/,
    what: '2,896 bytes delivered on Linux, 2,920 in the simulator',
    reason: 'the same silly-window avoidance (two rows above)',
    dependsOn: 'nothing',
  },
  {
    test: /reuse-linger: .*SO_LINGER/,
    specs: 'reuse-linger: SO_LINGER{1,0} into a 2,920-byte window',
    aspect: 'calls',
    pattern: /server step \d+ recv: kernel recv 2896, simulator recv 2920/,
    what: 'the server\'s recv returns 2,896 on Linux',
    reason: 'the same silly-window avoidance (three rows above)',
    dependsOn: 'nothing',
  },
  {
    test: /new incarnation of a 4-tuple in TIME-WAIT|tw-reuse: /,
    specs: 'time-wait: a new incarnation of a 4-tuple in TIME-WAIT; tw-reuse',
    aspect: 'time-wait',
    pattern: /\w+: kernel holds \d+ TIME-WAIT, simulator entered \d+/,
    what: 'one TIME-WAIT fewer on Linux when ss looks than the simulator entered',
    reason: 'a TIME-WAIT was taken over on both, by the SYN of a new incarnation (C10) or by tcp_tw_reuse; ss reads the kernel\'s holders after it, the simulator counts connections that ever entered TIME-WAIT',
    dependsOn: 'nothing',
  },
  {
    test: /TIME-WAIT lasts exactly 2·MSL|port stays in use/,
    specs: 'time-wait: a bind after 2·MSL of a short MSL',
    aspect: 'calls',
    pattern: /bind: kernel EADDRINUSE, simulator ok/,
    what: 'a bind after the spec\'s 2·MSL: EADDRINUSE on Linux, ok in the simulator',
    reason: 'the spec shortens MSL; Linux\'s TIME-WAIT is fixed at 60 s (TCP_TIMEWAIT_LEN), so the port is still held (as c08-time-wait-2msl)',
    dependsOn: 'nothing',
  },
  ...(['control', 'calls', 'time-wait'] as const).map((aspect) => ({
    test: /C12: a client's new connection picks another ephemeral port/,
    specs: 'time-wait: C12, a connect 60 s after the range was used up',
    aspect,
    pattern: /./,
    what: 'the last connect: EADDRNOTAVAIL on Linux, a third connection in the simulator (and what follows from it)',
    reason: 'the spec connects again 60.02 s after its TIME-WAITs began, when 2·MSL is over in the simulator; Linux\'s 60 s TIME-WAIT timer sits on the timer wheel, whose buckets at that range are seconds wide, and had not fired yet',
    dependsOn: 'nothing' as const,
  })),
  {
    test: /answers data that still arrives with RST|a pure ACK after the timeout gets the same bare RST/,
    specs: 'close, orphans: data sent to a socket that answers it with RST, then close',
    aspect: 'control',
    pattern: /kernel \(none\), simulator c\d+ \w+>\w+ \[F\.\] seq \d+ ack \d+$/,
    what: 'the simulator sends a FIN after the data; Linux sends none',
    reason: 'on loopback Linux processes the RST the data draws inside the send call, so the close that follows finds the connection reset and sends nothing; the simulator, with no link delay, delivers an instant\'s segments after the program\'s calls of that instant (as in c14-linger-abort)',
    dependsOn: 'loopback',
  },
  {
    test: /SO_RCVBUF set on an established connection/,
    specs: 'socket-buffers: SO_RCVBUF set on an established connection',
    aspect: 'control',
    pattern: /kernel c\d+ client>server \[F\.\] seq \d+ ack 1 \+\d+B, simulator c\d+ client>server \[F\.\] seq \d+ ack 1$/,
    what: 'Linux\'s sender is held back by the receiver\'s window (its FIN at 222 ms, on the last 1,176 bytes); the simulator\'s sends all 20,000 bytes at once',
    reason: 'not established this session: with every link delay 0 the buffer is set in the instant the data arrives, and Linux\'s receive-memory accounting (skb truesize, tcp_try_coalesce) is modelled only in part (src/tcp/tcb-options.ts)',
    dependsOn: 'nothing',
  },
  {
    test: /an immediate restart's bind gets EADDRINUSE, one after 2·MSL succeeds/,
    specs: 'time-wait: C11, a bind 60 s after the server\'s close',
    aspect: 'calls',
    pattern: /bind: kernel EADDRINUSE, simulator ok/,
    what: 'the bind 60.02 s after the close: EADDRINUSE on Linux, ok in the simulator',
    reason: 'the simulator\'s 60 s TIME-WAIT is over; Linux\'s timer sits on the timer wheel, whose buckets at that range are seconds wide, and had not fired yet (as for C12 above)',
    dependsOn: 'nothing',
  },
  {
    test: /an immediate restart's bind gets EADDRINUSE, one after 2·MSL succeeds/,
    specs: 'time-wait: C11, a bind 60 s after the server\'s close',
    aspect: 'time-wait',
    pattern: /server: kernel holds 0 TIME-WAIT, simulator entered 1/,
    what: 'no TIME-WAIT on Linux when ss looks, one entered in the simulator',
    reason: 'ss reads the kernel\'s holders 61.2 s after the start, when its TIME-WAIT had just ended; the simulator counts connections that ever entered TIME-WAIT',
    dependsOn: 'nothing',
  },
  {
    test: /any two segments lost/,
    specs: 'lifecycle-loss: a lost SYN,ACK with the client\'s data',
    aspect: 'control',
    pattern: /kernel c\d+ client>server \[F\.\] seq \d+ ack \d+, simulator c\d+ client>server \[\.\] seq \d+ ack 1$/,
    what: 'the simulator\'s client ACKs the second SYN,ACK after its data; Linux\'s before',
    reason: 'two SYN,ACKs arrive at one instant (the server\'s timer and its answer to the resent SYN); in the simulator the program\'s send runs between them, on Linux the helper\'s send came after both',
    dependsOn: 'scheduling',
  },
];

/** Why conformance specs cannot run on Linux: matched against what the exporter or `timewait kernel` refused. */
export const NOT_EXPRESSIBLE_CONFORMANCE: readonly { readonly refusal: RegExp; readonly specs: string; readonly why: string }[] = [
  { refusal: /crash|restart/, specs: 'a host crash or restart', why: 'a host cannot crash inside one namespace' },
  { refusal: /partitions|holds|lossRate|duplicateRate|reorderRate|oldDuplicateRate|jitterUs|burst/, specs: 'random or timed link faults', why: 'they need netem, which this kernel lacks; only scripted drops map to nftables' },
  { refusal: /broken endpoint variant/, specs: 'a broken endpoint variant', why: 'the kernel is the reference; a mutant has no kernel counterpart' },
  { refusal: /fcntl O_NONBLOCK/, specs: 'non-blocking sockets', why: 'the kernel helper makes blocking calls only (Python\'s timeouts would turn EINPROGRESS and EAGAIN into waits)' },
  { refusal: /two programs on host/, specs: 'two programs on one host', why: 'a scenario file has one script per host' },
];

/** Conformance specs that run on Linux but whose comparison means nothing, with why. */
export const NOT_COMPARED_CONFORMANCE: readonly { readonly test: RegExp; readonly specs: string; readonly why: string }[] = [
  { test: /lasts tcp_fin_timeout \(60 s\) from the ACK of its FIN/, specs: 'orphans: the 60 s tcp_fin_timeout', why: 'the spec runs 70 s; a kernel run is cut at 60 s of real time, so its last calls are still blocked when it ends (the 2 s variant is compared)' },
  { test: /simultaneous open/, specs: 'handshake: simultaneous open', why: 'the two SYNs must cross in flight; loopback has no delay (no netem), so each SYN meets a port that is not listening and draws a RST' },
  { test: /new incarnation of a 4-tuple in TIME-WAIT > C10: (timestamps off|with timestamps \(the default\), a SYN that repeats the old ISN)/, specs: 'time-wait: SYNs to a TIME-WAIT from fixed ISNs', why: 'the spec fixes both ISNs (isn: fixed) so that the second SYN is not above the old RCV.NXT, or repeats the old ISN; Linux picks RFC 6528 ISNs, so its run takes another path from that SYN on' },
];

/** The listed reason for a difference on a conformance spec: one of its own, or one that holds for any scenario. */
export function knownConformanceReason(description: string, difference: Difference): KnownDifference | KnownConformanceDifference | undefined {
  return (
    KNOWN_DIFFERENCES.find((k) => k.scenario === '*' && k.aspect === difference.aspect && k.pattern.test(difference.what)) ??
    KNOWN_CONFORMANCE_DIFFERENCES.find((k) => k.test.test(description) && k.aspect === difference.aspect && k.pattern.test(difference.what))
  );
}
