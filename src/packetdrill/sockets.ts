/**
 * The runner's picture of the script's sockets, as packetdrill keeps it (socket.h, run_packet.c,
 * run_system_call.c): one "socket under test" receives every packet line, and each socket
 * carries its own mapping between script and live sequence numbers and TS values.
 *
 * When packetdrill learns what:
 * - `socket()` makes a new socket, and it becomes the socket under test; `listen()` marks its
 *   socket listening; `connect()` marks a new socket connecting; `accept()` hands its descriptor
 *   to the newest socket whose SYN,ACK went out.
 * - An inbound line while the socket under test listens (or before there is one) makes a child
 *   socket, which becomes the socket under test; the line's sequence number is the peer's ISN.
 * - The script's host ISN comes from the first outbound `S` line of a connecting socket, or the
 *   first `S.` line of a child; the live one from the first SYN (or SYN,ACK) the host sends for
 *   it. An inbound `S.` to a socket whose SYN went out gives the peer's ISN.
 * - Nothing else changes the mapping. A later SYN on the same socket (a new incarnation of the
 *   4-tuple after TIME-WAIT, C10) is mapped with the first incarnation's ISNs: on a SYN the
 *   script writes sequence numbers absolute for its own side and relative to the first ISN for
 *   the host's, and the ack of a SYN,ACK absolute.
 */

export type ScriptSocketState =
  | 'new'
  | 'listening'
  | 'passive-packet-received'
  | 'passive-synack-sent'
  | 'passive-synack-acked'
  | 'active-connecting'
  | 'active-syn-sent'
  | 'active-syn-acked';

export class ScriptSocket {
  state: ScriptSocketState;
  scriptFd: number | null;
  /** The host's ISN as the script writes it, and as the host chose it. */
  scriptLocalIsn = 0;
  liveLocalIsn = 0;
  liveLocalIsnKnown = false;
  /** The peer's ISN: the script's own number, injected as written. */
  remoteIsn = 0;
  /** TS val mapping (run_packet.c map_outbound_live_packet): each outbound line's script TSval → the live one. */
  readonly tsValLive = new Map<number, number>();
  /** The first outbound TS: the baseline for the rest. */
  firstTs: { readonly script: number; readonly live: number } | null = null;

  constructor(state: ScriptSocketState, scriptFd: number | null) {
    this.state = state;
    this.scriptFd = scriptFd;
  }

  // Script → live (run_packet.c map_inbound_packet; socket.h *_script_to_live_offset).

  /** An injected segment's seq: absolute on a SYN, else relative to the peer's ISN. */
  inboundSeq(scriptSeq: number, syn: boolean): number {
    return (syn ? scriptSeq : scriptSeq + this.remoteIsn) >>> 0;
  }

  /** The offset from the script's host sequence numbers to the live ones (acks and SACK blocks of injected segments). */
  localScriptToLive(syn: boolean): number {
    return syn ? this.liveLocalIsn - this.scriptLocalIsn : this.liveLocalIsn;
  }

  // Live → script (tcp_convert_seq_number; socket.h *_live_to_script_offset).

  /** A host segment's seq as the script writes it. */
  outboundSeq(liveSeq: number, syn: boolean): number {
    return (liveSeq - this.localScriptToLive(syn)) >>> 0;
  }

  /** A host segment's ack as the script writes it: absolute on a SYN,ACK, else relative to the peer's ISN. */
  outboundAck(liveAck: number, syn: boolean): number {
    return (syn ? liveAck : liveAck - this.remoteIsn) >>> 0;
  }
}

export class ScriptSockets {
  /** Newest first, as packetdrill's state->fds. */
  private readonly sockets: ScriptSocket[] = [];
  private current: ScriptSocket | null = null;
  /** Mapping used before the script has any socket (all zero). */
  private readonly none = new ScriptSocket('new', null);

  /** The socket packet lines belong to (a zero mapping before there is one). */
  get underTest(): ScriptSocket {
    return this.current ?? this.none;
  }

  /** socket() returned `scriptFd` (run_syscall_socket). */
  socketCreated(scriptFd: number): void {
    const socket = new ScriptSocket('new', scriptFd);
    this.sockets.unshift(socket);
    this.current = socket;
  }

  /** listen(scriptFd) ran (run_syscall_listen). */
  listened(scriptFd: number): void {
    const socket = this.byFd(scriptFd);
    if (socket !== undefined) socket.state = 'listening';
  }

  /** connect(scriptFd) is being made (run_syscall_connect): a new socket starts connecting. */
  connecting(scriptFd: number): void {
    const socket = this.byFd(scriptFd);
    if (socket !== undefined && socket.state === 'new') socket.state = 'active-connecting';
  }

  /** accept() returned `scriptFd` (run_syscall_accept): the newest child whose SYN,ACK went out takes it. */
  accepted(scriptFd: number): void {
    const child = this.sockets.find((s) => s.state === 'passive-synack-sent' || s.state === 'passive-synack-acked');
    if (child !== undefined) child.scriptFd = scriptFd;
  }

  /**
   * An inbound line is about to be injected: the socket it belongs to, after packetdrill's
   * handle_listen_for_script_packet and do_inbound_script_packet have updated it.
   */
  inboundLine(flags: { syn: boolean; ack: boolean }, scriptSeq: number): ScriptSocket {
    if (this.current === null || this.current.state === 'listening') {
      const child = new ScriptSocket('passive-packet-received', null);
      child.remoteIsn = scriptSeq >>> 0;
      this.sockets.unshift(child);
      this.current = child;
    }
    const socket = this.current;
    if (socket.state === 'passive-synack-sent' && flags.ack) socket.state = 'passive-synack-acked';
    else if (socket.state === 'active-syn-sent' && flags.syn && flags.ack) {
      socket.state = 'active-syn-acked';
      socket.remoteIsn = scriptSeq >>> 0;
    }
    return socket;
  }

  /**
   * An outbound line is about to be matched (handle_connect_for_script_packet,
   * do_outbound_script_packet): the script's host ISN is read from the first `S` of a
   * connecting socket or the first `S.` of a child.
   */
  outboundLine(flags: { syn: boolean; ack: boolean }, scriptSeq: number): ScriptSocket {
    const socket = this.underTest;
    if (flags.syn && !flags.ack && socket.state === 'active-connecting') {
      socket.state = 'active-syn-sent';
      socket.scriptLocalIsn = scriptSeq >>> 0;
    } else if (flags.syn && flags.ack && socket.state === 'passive-packet-received') {
      socket.state = 'passive-synack-sent';
      socket.scriptLocalIsn = scriptSeq >>> 0;
    }
    return socket;
  }

  /**
   * A segment left the host. The live host ISN is learned once per socket, from its first SYN
   * (find_connect_for_live_packet) or SYN,ACK (do_outbound_script_packet). It is learned as the
   * segment leaves, not when a line matches it, so that the peer's numbers stay right when
   * expectations are only advisory (fuzz mode).
   */
  segmentSent(flags: { syn: boolean; ack: boolean }, liveSeq: number): void {
    const socket = this.current;
    if (socket === null || socket.liveLocalIsnKnown || !flags.syn) return;
    const connecting = !flags.ack && (socket.state === 'active-connecting' || socket.state === 'active-syn-sent');
    const answering = flags.ack && (socket.state === 'passive-packet-received' || socket.state === 'passive-synack-sent');
    if (!connecting && !answering) return;
    socket.liveLocalIsn = liveSeq >>> 0;
    socket.liveLocalIsnKnown = true;
  }

  private byFd(scriptFd: number): ScriptSocket | undefined {
    return this.sockets.find((s) => s.scriptFd === scriptFd);
  }
}
