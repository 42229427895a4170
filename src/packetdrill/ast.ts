/**
 * A packetdrill script as data: what parser.ts reads and runner.ts runs. The shapes follow the
 * language subset in ../shared/packetdrill-subset.md (google/packetdrill's syntax.md, summarised
 * there): header options, back-quoted commands, and events with a time and an action.
 */

/** Where something was written, 1-based, for messages. */
export interface Position {
  readonly line: number;
  readonly column: number;
}

/** A point in script time, in µs: absolute (`1.5`) or after the previous event (`+.01`). */
export interface TimePoint {
  readonly relative: boolean;
  readonly us: number;
}

export type EventTime =
  /** `*`: any time, no timing check. */
  | { readonly kind: 'any' }
  /** `t`, or a range `a~b`: the event may happen anywhere from `at` to `until`. */
  | { readonly kind: 'point'; readonly at: TimePoint; readonly until?: TimePoint; readonly blockingEnd?: TimePoint };

/** One TCP option as written: kinds the simulator models, and the rest by name. */
export type TcpOptionSpec =
  | { readonly kind: 'mss'; readonly value: number }
  | { readonly kind: 'nop' }
  | { readonly kind: 'eol' }
  | { readonly kind: 'sackOK' }
  | { readonly kind: 'wscale'; readonly value: number }
  | { readonly kind: 'TS'; readonly val: number; readonly ecr: number }
  | { readonly kind: 'sack'; readonly blocks: readonly (readonly [number, number])[] }
  /** Anything else (`FO`, `FOEXP`, `md5`, `mptcp`…): kept by name so it can be refused by name. */
  | { readonly kind: 'other'; readonly name: string; readonly text: string };

export interface PacketSpec {
  readonly direction: 'inbound' | 'outbound';
  /** The flag letters as written: `S.`, `F.`, `P.`, `-`… */
  readonly flagText: string;
  readonly seqStart: number;
  readonly seqEnd: number;
  readonly payloadBytes: number;
  readonly ack?: number;
  readonly window?: number;
  readonly urgent?: number;
  /** null: no option list (outbound: expect no options); 'any': `<...>`, not checked. */
  readonly options: readonly TcpOptionSpec[] | 'any' | null;
  /** `[ect0]`, `(tos 0x2)`, `encap psp …`: written but not modelled; kept to refuse by name. */
  readonly unmodelled: readonly string[];
}

/** Arguments and results of system calls. */
export type Expr =
  | { readonly kind: 'ellipsis' }
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'symbol'; readonly name: string }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'or'; readonly terms: readonly Expr[] }
  | { readonly kind: 'list'; readonly items: readonly Expr[] }
  | { readonly kind: 'struct'; readonly fields: readonly { readonly name: string | null; readonly value: Expr }[] }
  | { readonly kind: 'call'; readonly name: string; readonly args: readonly Expr[] };

export interface SyscallSpec {
  readonly name: string;
  readonly args: readonly Expr[];
  readonly result: Expr;
  /** `= -1 EAGAIN (Resource temporarily unavailable)`: the errno's name. */
  readonly errno?: string;
}

export type Action =
  | { readonly kind: 'packet'; readonly packet: PacketSpec }
  | { readonly kind: 'syscall'; readonly call: SyscallSpec }
  | { readonly kind: 'command'; readonly text: string }
  | { readonly kind: 'code'; readonly text: string };

export interface ScriptEvent extends Position {
  readonly time: EventTime;
  readonly action: Action;
  /** The event's source text, for messages ("script line 12: > S. 0:0(0) ack 1 <...>"). */
  readonly source: string;
}

export interface HeaderOption extends Position {
  readonly name: string;
  readonly value: string | null;
}

export interface Script {
  readonly options: readonly HeaderOption[];
  /** Back-quoted blocks before the first event (usually `../common/defaults.sh`). */
  readonly initCommands: readonly (Position & { readonly text: string })[];
  readonly events: readonly ScriptEvent[];
  /** Back-quoted blocks after the last event (the sysctl restore script). */
  readonly cleanupCommands: readonly (Position & { readonly text: string })[];
}
