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
  readonly dependsOn: 'nothing' | 'kernel version' | 'scheduling';
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

export const KNOWN_CONFORMANCE_DIFFERENCES: readonly KnownConformanceDifference[] = [];

/** Conformance specs that cannot be written as a file Linux can run, with why. */
export const NOT_EXPRESSIBLE_CONFORMANCE: readonly { readonly test: RegExp; readonly specs: string; readonly why: string }[] = [];

/** The listed reason for a difference on a conformance spec: one of its own, or one that holds for any scenario. */
export function knownConformanceReason(description: string, difference: Difference): KnownDifference | KnownConformanceDifference | undefined {
  return (
    KNOWN_DIFFERENCES.find((k) => k.scenario === '*' && k.aspect === difference.aspect && k.pattern.test(difference.what)) ??
    KNOWN_CONFORMANCE_DIFFERENCES.find((k) => k.test.test(description) && k.aspect === difference.aspect && k.pattern.test(difference.what))
  );
}
