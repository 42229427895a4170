/**
 * A host's TCP stack and its BSD-style socket API: file descriptors, the bind table, listeners,
 * the connection table (4-tuple -> TCB, TIME-WAIT included), and the handling of segments that
 * find no connection (RFC 9293 §3.10.7.1–2).
 *
 * Socket calls never block: a call that would block returns EAGAIN (or, for connect, starts the
 * handshake), and the caller waits for `wake` before trying again. The blocking program runner
 * in src/world builds blocking calls on top.
 */
import type { Rng } from '../sim/rng.js';
import type { StackConfig } from './config.js';
import { ACK, blankSegment, EMPTY_PAYLOAD, NO_OPTIONS, RST, SYN, segLen, type Segment } from './segment.js';
import { seqAdd } from './seq.js';
import type { TcpState } from './state.js';
import type { Connection, Endpoint, TimeWaitReuse } from './endpoint.js';
import { REFERENCE_ENDPOINT } from './endpoint.js';
import type { Result, SocketOption, SocketOptionName, SocketOptionValue, Stack, StackEnv } from './stack.js';
import { TimerKind, type Errno, type SegmentFields, type TcbEnv, type TcbOptions } from './tcb.js';
import { NO_SACK_BLOCKS } from './tcb-base.js';
import { TimeWaitConnection } from './time-wait.js';

export type { Result, SocketOption, SocketOptionName, SocketOptionValue } from './stack.js';

/** INADDR_ANY: bind to every address of the host. */
export const ANY_ADDRESS = 0;
/** 127.0.0.1: every host has it, but the simulator has no loopback device, so nothing reaches it over the fabric. */
export const LOOPBACK_ADDRESS = 0x7f000001;

/** What the host needs from the world (the seam's StackEnv: time, ids, timers, incarnations, tracing). */
export type HostEnv = StackEnv;

/** Anything that holds a local port in the bind table. */
interface PortOwner {
  /** The local address the owner is bound to; ANY_ADDRESS for the wildcard. */
  readonly boundIp: number;
  readonly reuseAddr: boolean;
  readonly listening: boolean;
  /** True when the port came from connect()'s autobind rather than bind() (Linux fastreuse = -1). */
  readonly connectBound: boolean;
  readonly timeWait: boolean;
}

type SocketPhase = 'fresh' | 'bound' | 'listening' | 'connection' | 'closed';

export class Socket implements PortOwner {
  phase: SocketPhase = 'fresh';
  localPort = 0;
  /** bind(2)'s address: ANY_ADDRESS unless bound to one of the host's addresses. */
  boundIp = ANY_ADDRESS;
  /** O_NONBLOCK (fcntl F_SETFL): the program runner returns EAGAIN/EINPROGRESS instead of waiting. */
  nonBlocking = false;
  reuseAddr = false;
  lingerSec: number | null = null;
  /** sk_rcvbuf / sk_sndbuf set by SO_RCVBUF / SO_SNDBUF (doubled); null: the stack's defaults. */
  rcvBufBytes: number | null = null;
  sndBufBytes: number | null = null;
  tcb: Connection | null = null;
  backlog = 0;
  /** Established children waiting for accept(); a real queue only once the socket listens. */
  acceptQueue: Connection[] = NO_ACCEPT_QUEUE;
  /** Half-open children of a listener, by TCB; a real set only once the socket listens. */
  children: Set<Connection> = NO_CHILDREN;
  connectBound = false;
  /**
   * A connect() on this socket has returned success (Linux sock->state = SS_CONNECTED), or it
   * was accepted. Until then a connection that a non-blocking connect started is SS_CONNECTING.
   */
  connected = false;
  readSide = true;
  private waiter: (() => void) | null = null;

  constructor(readonly fd: number) {}

  get listening(): boolean {
    return this.phase === 'listening';
  }

  get timeWait(): boolean {
    return false;
  }

  /** Register one callback to run the next time something changes on this socket. */
  onWake(callback: () => void): void {
    this.waiter = callback;
  }

  wake(): void {
    const waiter = this.waiter;
    if (waiter === null) return;
    this.waiter = null;
    waiter();
  }
}

/**
 * Most sockets never listen: they share these empties (the array frozen, so a push would throw)
 * instead of an array and a Set each, which at 10^5 connections is 10^5 of each.
 */
/**
 * Linux's smallest socket buffers (include/net/sock.h): TCP_SKB_MIN_TRUESIZE = 2048 +
 * SKB_DATA_ALIGN(sizeof(struct sk_buff)) = 2304 on x86-64; SOCK_MIN_SNDBUF is twice that.
 */
const SOCK_MIN_RCVBUF = 2304;
const SOCK_MIN_SNDBUF = 2 * SOCK_MIN_RCVBUF;

const NO_ACCEPT_QUEUE: Connection[] = Object.freeze([]) as unknown as Connection[];
const NO_CHILDREN: Set<Connection> = new Set();

/**
 * A connection's entry in the connection table, which is also its owner record in the bind
 * table: TCBs hold their port like sockets do, with the options they were created with. One
 * object for both means no second map from TCB to owner.
 */
class ConnEntry implements PortOwner {
  /** Where the connection sits in `Host.allTcbs`, or -1 when the host keeps no history. */
  historyIndex = -1;
  /** The socket the application reaches the connection through, until it is closed (wake goes there). */
  socket: Socket | null = null;
  /** For a passive child: its listener, until accepted (or, reset while queued, until accept takes it). */
  listener: Socket | null = null;
  constructor(
    /** Changes once at most: a TCB in TIME-WAIT is swapped for its small record. */
    public tcb: Connection,
    public connectBound: boolean,
  ) {}
  /** The entry of another connection, as new (Host.spareEntries). */
  takeOver(tcb: Connection, connectBound: boolean): void {
    this.tcb = tcb;
    this.connectBound = connectBound;
    this.historyIndex = -1;
    this.socket = null;
    this.listener = null;
  }
  get reuseAddr(): boolean {
    return this.tcb.options.reuseAddr;
  }
  /** A connection holds its port on its own local address (Linux sk_rcv_saddr of the child or connected socket). */
  get boundIp(): number {
    return this.tcb.id.localIp;
  }
  get listening(): boolean {
    return false;
  }
  get timeWait(): boolean {
    return this.tcb.state === 'TIME-WAIT';
  }
}

export class Host implements TcbEnv, Stack {
  private readonly sockets = new SocketTable();
  private nextFd = 3;
  /**
   * Bind table: local port -> its owners (Linux's inet_bind_bucket owners list), in the order
   * they came. A port with one owner maps to it directly; a Set only when several share it, as
   * a server's port does (most client ports have one connection at a time).
   */
  private readonly portOwners = new Map<number, PortOwner | Set<PortOwner>>();
  /**
   * Connection table: remote ip -> (remotePort << 16 | localPort), as a signed 32-bit integer
   * so V8 keeps the key a small integer (a key above 2^31 would be a boxed number) -> entry.
   */
  private readonly connections = new Map<number, Map<number, ConnEntry>>();
  /**
   * For connect()'s port search: per port, how many of its owners are not connect()'s own
   * autobinds (bound with bind(), listening, passive children), and how many such ports lie in
   * the ephemeral range. Those ports are skipped (Linux __inet_hash_connect skips bind buckets
   * it did not create).
   */
  private readonly boundOwnerCount = new Map<number, number>();
  private boundPortsInRange = 0;
  /** Per destination a connect() has asked about: which local ports have a connection to it. */
  private readonly destinations = new Map<number, Destination>();
  private readonly listeners = new Map<number, Socket>();
  private readonly isnSecret: number;
  private readonly tsSecret: number;
  /** Connections of this host in TIME-WAIT, full TCBs and records alike (Linux tw_refcount − 1). */
  private timeWaitCount = 0;
  /** All TCBs ever created on this host, for end-of-run checks and statistics (while `recordAllTcbs`). */
  readonly allTcbs: Connection[] = [];
  /**
   * Keep every TCB in `allTcbs`. True by default (the conformance harness reads final states);
   * long runs with 10^5 connections turn it off, or every closed TCB stays in memory.
   */
  recordAllTcbs = true;
  /** Swap TIME-WAIT connections whose socket is closed for their small records (see `compactTimeWait`). */
  compactTimeWaitConnections = true;
  /** When false the host is down (crashed): it neither sends nor receives. */
  up = true;
  /** Mutant seam (Endpoint.portSearchIgnoresTimeWait): false for every endpoint but one zoo mutant. */
  private readonly portSearchIgnoresTimeWait: boolean;
  /** Mutant seam (Endpoint.connectIgnoresBoundPort): false for every endpoint but one zoo mutant. */
  private readonly connectIgnoresBoundPort: boolean;
  /**
   * TIME-WAIT records whose TIME-WAIT ended, and their table entries, for the next connections
   * to make over (`releaseRecord`): they outlive V8's young generation, so a new pair per
   * connection was most of what each scavenge copied at 10^5 connections. Only while nothing
   * else keeps connections (no history, nothing observing).
   */
  private readonly spareRecords: Connection[] = [];
  private readonly spareEntries: ConnEntry[] = [];
  /**
   * TCBs that reached CLOSED with their socket closed, or were swapped for a record, for the
   * endpoint to make over as the next connections (`releaseTcb`): two per lifecycle, about
   * 1.3 KB each, were a third of what a lifecycle allocated. Same conditions as the records.
   */
  private readonly spareTcbs: Connection[] = [];
  /** Make finished connections' objects over (above); off only to check that doing so changes nothing. */
  reuseConnections = true;
  /** How many TIME-WAIT records and TCBs were made over rather than made (for that check). */
  timeWaitRecordsReused = 0;
  tcbsReused = 0;

  readonly config: StackConfig;

  constructor(
    readonly ip: number,
    readonly name: string,
    config: StackConfig,
    private readonly env: HostEnv,
    private readonly isnRng: Rng,
    private readonly portRng: Rng,
    readonly endpoint: Endpoint = REFERENCE_ENDPOINT,
  ) {
    // The endpoint may change the host's own settings too (the mutant zoo's port-range mutant).
    this.config = endpoint.hostConfig?.(config) ?? config;
    this.portSearchIgnoresTimeWait = endpoint.portSearchIgnoresTimeWait === true;
    this.connectIgnoresBoundPort = endpoint.connectIgnoresBoundPort === true;
    this.isnSecret = isnRng.uint32();
    // Derived, not drawn: another draw would shift every later ISN of the stream.
    this.tsSecret = mix4(this.isnSecret, 0x7453, 0, 0, 0);
  }

  // ---------------------------------------------------------------------------------------
  // Socket API
  // ---------------------------------------------------------------------------------------

  socket(): number {
    const fd = this.nextFd++;
    this.sockets.set(fd, new Socket(fd));
    return fd;
  }

  socketOf(fd: number): Socket | undefined {
    return this.sockets.get(fd);
  }

  // Stack seam (src/tcp/stack.ts): what programs ask of a descriptor.
  onWake(fd: number, callback: () => void): boolean {
    const socket = this.sockets.get(fd);
    if (socket === undefined) return false;
    socket.onWake(callback);
    return true;
  }

  connIdOf(fd: number): number {
    return this.sockets.get(fd)?.tcb?.id.connId ?? -1;
  }

  isNonBlocking(fd: number): boolean {
    return this.sockets.get(fd)?.nonBlocking ?? false;
  }

  setsockopt(fd: number, option: SocketOption): Result<void> {
    const socket = this.sockets.get(fd);
    if (socket === undefined) return fail('EBADF');
    if (option.name === 'SO_REUSEADDR') {
      socket.reuseAddr = option.value;
      if (socket.tcb !== null) socket.tcb.options.reuseAddr = option.value;
    } else if (option.name === 'SO_RCVBUF' || option.name === 'SO_SNDBUF') {
      if (!Number.isInteger(option.value)) return fail('EINVAL');
      // Linux sock_setsockopt: the value is capped at net.core.rmem_max / wmem_max, doubled "to
      // allow for struct sk_buff overhead", and raised to SOCK_MIN_RCVBUF / SOCK_MIN_SNDBUF; it
      // also locks the buffer (SOCK_RCVBUF_LOCK / SOCK_SNDBUF_LOCK), which tcb-options.ts and
      // tcb-send.ts read as "a size was set". Measured on this machine's Linux 6.18: 1 -> 2304 and
      // 4608, 1000 -> 2304, 2304 -> 4608, 4096 -> 8192.
      const receive = option.name === 'SO_RCVBUF';
      const asked = Math.min(Math.max(0, option.value), receive ? this.config.netCoreRmemMaxBytes : this.config.netCoreWmemMaxBytes);
      const bytes = Math.max(2 * asked, receive ? SOCK_MIN_RCVBUF : SOCK_MIN_SNDBUF);
      if (receive) socket.rcvBufBytes = bytes;
      else socket.sndBufBytes = bytes;
      if (socket.tcb !== null) {
        if (receive) {
          socket.tcb.options.rcvBufBytes = bytes;
          (socket.tcb as { adoptReceiveBuffer?: () => void }).adoptReceiveBuffer?.();
        } else {
          socket.tcb.options.sndBufBytes = bytes;
        }
      }
    } else if (option.name === 'SO_LINGER') {
      if (!Number.isInteger(option.value.lingerSec) || option.value.lingerSec < 0) return fail('EINVAL');
      socket.lingerSec = option.value.onoff ? option.value.lingerSec : null;
      if (socket.tcb !== null) socket.tcb.options.lingerSec = socket.lingerSec;
    }
    return OK;
  }

  /** fcntl(fd, F_SETFL, O_NONBLOCK or not). Only the blocking behaviour of calls depends on it. */
  setNonBlocking(fd: number, nonBlocking: boolean): Result<void> {
    const socket = this.sockets.get(fd);
    if (socket === undefined) return fail('EBADF');
    socket.nonBlocking = nonBlocking;
    return OK;
  }

  /**
   * getsockopt(2). SO_ERROR returns the pending error and clears it, as Linux sock_error does
   * (0 when there is none); SO_SNDBUF and SO_RCVBUF are the socket's buffer sizes as
   * setsockopt doubled them, or the stack's defaults.
   */
  getsockopt(fd: number, name: SocketOptionName): Result<SocketOptionValue> {
    const socket = this.sockets.get(fd);
    if (socket === undefined) return fail('EBADF');
    switch (name) {
      case 'SO_ERROR': {
        const tcb = socket.tcb;
        if (tcb === null || tcb.error === null) return { ok: true, value: 0 };
        const errno = tcb.error;
        tcb.error = null;
        return { ok: true, value: errno };
      }
      case 'SO_REUSEADDR':
        return { ok: true, value: socket.reuseAddr ? 1 : 0 };
      case 'SO_LINGER':
        return { ok: true, value: { onoff: socket.lingerSec !== null, lingerSec: socket.lingerSec ?? 0 } };
      case 'SO_SNDBUF':
        return { ok: true, value: socket.sndBufBytes ?? this.config.sendBufferBytes };
      case 'SO_RCVBUF':
        return { ok: true, value: socket.rcvBufBytes ?? this.config.receiveBufferBytes };
      case 'SO_TYPE':
        return { ok: true, value: 1 }; // SOCK_STREAM
    }
  }

  /** The addresses a socket may bind: the host's own and 127.0.0.1. */
  ownsAddress(ip: number): boolean {
    return ip === this.ip || ip === LOOPBACK_ADDRESS;
  }

  /**
   * bind(2): Linux's inet_csk_get_port and inet_csk_bind_conflict (C11–C13). `address` is
   * ANY_ADDRESS (the wildcard) or one of the host's addresses; an address the host lacks is
   * EADDRNOTAVAIL (Linux inet_bind without IP_FREEBIND).
   */
  bind(fd: number, port: number, address: number = ANY_ADDRESS): Result<number> {
    const socket = this.sockets.get(fd);
    if (socket === undefined) return fail('EBADF');
    if (socket.phase !== 'fresh') return fail('EINVAL');
    if (!Number.isInteger(port) || port < 0 || port > 65535) return fail('EINVAL');
    if (address !== ANY_ADDRESS && !this.ownsAddress(address)) return fail('EADDRNOTAVAIL');
    socket.boundIp = address;
    const chosen = port === 0 ? this.findFreePort(socket) : port;
    if (chosen < 0 || (port !== 0 && this.bindConflict(socket, port))) {
      socket.boundIp = ANY_ADDRESS;
      return fail('EADDRINUSE');
    }
    socket.localPort = chosen;
    socket.phase = 'bound';
    this.addOwner(chosen, socket);
    return { ok: true, value: chosen };
  }

  /** listen(2): binds an ephemeral port if needed, and re-checks conflicts as Linux does. */
  listen(fd: number, backlog: number): Result<void> {
    const socket = this.sockets.get(fd);
    if (socket === undefined) return fail('EBADF');
    if (socket.phase === 'listening') {
      socket.backlog = backlog;
      return OK;
    }
    if (socket.phase === 'fresh') {
      const bound = this.bind(fd, 0);
      if (!bound.ok) return bound;
    }
    if (socket.phase !== 'bound') return fail('EINVAL');
    if (this.bindConflict(socket, socket.localPort, true)) return fail('EADDRINUSE');
    socket.phase = 'listening';
    socket.backlog = Math.max(0, backlog);
    socket.acceptQueue = [];
    socket.children = new Set();
    // Only a listener on the wildcard or the host's own address hears the fabric; at most one
    // such listener per port exists (two would conflict: listening owners always do).
    if (socket.boundIp !== LOOPBACK_ADDRESS) this.listeners.set(socket.localPort, socket);
    this.env.socketClosedListener(this, socket.localPort, 'CLOSED', 'LISTEN');
    return OK;
  }

  /** accept(2), non-blocking: EAGAIN when no connection is waiting. */
  accept(fd: number): Result<number> {
    const socket = this.sockets.get(fd);
    if (socket === undefined) return fail('EBADF');
    if (socket.phase !== 'listening') return fail('EINVAL');
    const tcb = socket.acceptQueue.shift();
    if (tcb === undefined) return fail('EAGAIN');
    const child = this.sockets.get(this.socket())!;
    child.phase = 'connection';
    child.connected = true;
    child.localPort = socket.localPort;
    child.reuseAddr = tcb.options.reuseAddr;
    child.lingerSec = tcb.options.lingerSec;
    child.rcvBufBytes = tcb.options.rcvBufBytes ?? null;
    child.sndBufBytes = tcb.options.sndBufBytes ?? null;
    child.tcb = tcb;
    const entry = entryOf(tcb);
    entry.socket = child;
    entry.listener = null;
    return { ok: true, value: child.fd };
  }

  /**
   * connect(2), non-blocking: sends the SYN (C1). Completion is seen through `connectResult`.
   * Autobind picks an ephemeral port whose 4-tuple to this destination is free, skipping
   * TIME-WAIT ones (Linux __inet_hash_connect); none left gives EADDRNOTAVAIL.
   */
  connect(fd: number, remoteIp: number, remotePort: number): Result<void> {
    const socket = this.sockets.get(fd);
    if (socket === undefined) return fail('EBADF');
    if (socket.phase === 'connection') return this.connectAgain(socket);
    // Linux __inet_stream_connect: a listener is SS_UNCONNECTED but not TCP_CLOSE, so EISCONN
    // (seen on Linux 6.18), and it goes on listening.
    if (socket.phase === 'listening') return fail('EISCONN');
    if (socket.phase === 'closed') return fail('EINVAL');
    let autobind = socket.phase === 'fresh';
    if (this.connectIgnoresBoundPort && socket.phase === 'bound') {
      // The mutant seam: the bound port is let go and an ephemeral one searched for instead.
      this.removeOwner(socket.localPort, socket);
      autobind = true;
    }
    // The mutant seam, read once per connect(); false except for one zoo mutant.
    const overTimeWait = autobind && this.portSearchIgnoresTimeWait;
    let port = socket.localPort;
    if (autobind) {
      port = overTimeWait ? this.findPortOverTimeWait(remoteIp, remotePort) : this.findConnectPort(remoteIp, remotePort);
      if (port < 0) return fail('EADDRNOTAVAIL');
    } else if (socket.boundIp === LOOPBACK_ADDRESS) {
      // No loopback device: a socket bound to 127.0.0.1 has no route to a fabric address.
      return fail('EADDRNOTAVAIL');
    }
    // The 4-tuple may be held by a TIME-WAIT that tcp_tw_reuse lets go (the autobind search
    // picks such a port only when it may), or, for a port from bind(), by anything: Linux
    // __inet_check_established with twp = NULL, where tcp_twsk_unique takes over a TIME-WAIT
    // that used timestamps at once, whatever tcp_tw_reuse says; anything else is EADDRNOTAVAIL.
    let reused: TimeWaitReuse | null = null;
    const holder = this.lookup(remoteIp, remotePort, port);
    if (holder !== undefined && !(overTimeWait && holder.state === 'TIME-WAIT')) {
      reused = holder.state === 'TIME-WAIT' ? (holder.timeWaitReuse?.() ?? null) : null;
      if (reused === null || (autobind && !this.mayReuseTimeWait(holder, reused))) return fail('EADDRNOTAVAIL');
      holder.abort(this.env.nowUs, 'TIME-WAIT reused by connect (tcp_twsk_unique)');
    }
    if (autobind) {
      // The socket does not become an owner of the port: its connection does, just below.
      socket.localPort = port;
      socket.connectBound = true;
    }
    const tcb = this.newTcb(socket.localPort, remoteIp, remotePort, { reuseAddr: socket.reuseAddr, lingerSec: socket.lingerSec, rcvBufBytes: socket.rcvBufBytes, sndBufBytes: socket.sndBufBytes }, socket.connectBound);
    tcb.incarnation = this.env.newIncarnation(this.ip, socket.localPort, remoteIp, remotePort);
    // A port from bind() passes from the socket to its connection.
    this.removeOwner(socket.localPort, socket);
    socket.phase = 'connection';
    socket.tcb = tcb;
    entryOf(tcb).socket = socket;
    if (reused !== null) {
      // Linux tcp_twsk_unique: the new incarnation starts above everything the old one sent
      // (write_seq = tw_snd_nxt + 65535 + 2, never 0) and keeps its TS.Recent.
      tcb.inheritTsRecent?.(reused.tsRecent, reused.tsRecentStampUs);
      const isn = seqAdd(reused.sndNxt, 65535 + 2);
      tcb.connect(this.env.nowUs, isn === 0 ? 1 : isn);
    } else {
      tcb.connect(this.env.nowUs, this.chooseIsn(socket.localPort, remoteIp, remotePort));
    }
    // Linux __inet_stream_connect: a non-blocking socket returns EINPROGRESS with the SYN sent.
    return socket.nonBlocking ? fail('EINPROGRESS') : OK;
  }

  /** The outcome of a connect in progress: null while the handshake is under way. */
  connectResult(fd: number): Result<void> | null {
    const socket = this.sockets.get(fd);
    if (socket === undefined) return fail('EBADF');
    const tcb = socket.tcb;
    if (tcb === null) return fail('ENOTCONN');
    if (tcb.state === 'SYN-SENT' || tcb.state === 'SYN-RECEIVED') return null;
    if (tcb.error !== null) {
      const errno = tcb.error;
      tcb.error = null;
      if (tcb.state === 'CLOSED') this.unconnect(socket);
      return fail(errno);
    }
    if (tcb.state === 'CLOSED') {
      this.unconnect(socket);
      return fail('ECONNREFUSED');
    }
    socket.connected = true;
    return OK;
  }

  /**
   * connect(2) on a socket whose connection exists, as Linux's __inet_stream_connect answers it:
   * EISCONN once a connect returned success (SS_CONNECTED); while the handshake runs, EALREADY;
   * a handshake that completed since a non-blocking connect, success now (SS_CONNECTING to
   * SS_CONNECTED); one that ended (RST, timeout), its pending error or else ECONNABORTED, and
   * the socket is unconnected (sock_error: tcp_disconnect), so connect may be called again.
   * Measured on Linux 6.18: a refused non-blocking connect, SO_ERROR read, then connect gives
   * ECONNABORTED, and the next one sends a SYN.
   */
  private connectAgain(socket: Socket): Result<void> {
    const tcb = socket.tcb!;
    if (socket.connected) return fail('EISCONN');
    if (tcb.state === 'SYN-SENT' || tcb.state === 'SYN-RECEIVED') return fail('EALREADY');
    if (tcb.state === 'CLOSED') {
      const errno = tcb.error ?? 'ECONNABORTED';
      tcb.error = null;
      this.unconnect(socket);
      return fail(errno);
    }
    socket.connected = true;
    return OK;
  }

  /**
   * A connect that failed leaves the socket unconnected, as Linux's __inet_stream_connect does
   * (sock->state = SS_UNCONNECTED): connect may be called again. An autobound port is given
   * back (tcp_set_state(CLOSE) puts it unless SOCK_BINDPORT_LOCK); a port from bind() stays.
   */
  private unconnect(socket: Socket): void {
    const tcb = socket.tcb;
    if (tcb !== null) entryOf(tcb).socket = null;
    socket.tcb = null;
    if (socket.connectBound) {
      socket.connectBound = false;
      socket.localPort = 0;
      socket.phase = 'fresh';
    } else {
      socket.phase = 'bound';
      this.addOwner(socket.localPort, socket);
    }
  }

  send(fd: number, data: Uint8Array): Result<number> {
    // Linux tcp_sendmsg (sk_stream_wait_connect): a socket with no connection — never
    // connected, after a failed connect, or listening — gives EPIPE, not ENOTCONN.
    if (this.sockets.get(fd)?.tcb === null) return fail('EPIPE');
    const tcb = this.tcbOf(fd);
    if (typeof tcb === 'string') return fail(tcb);
    const sent = tcb.send(this.env.nowUs, data);
    return typeof sent === 'number' ? sentResult(sent) : fail(sent);
  }

  /** recv(2): bytes, or an empty array for end-of-file. */
  recv(fd: number, maxBytes: number): Result<Uint8Array> {
    const socket = this.sockets.get(fd);
    if (socket === undefined) return fail('EBADF');
    const tcb = this.tcbOf(fd);
    if (!socket.readSide) {
      // Linux after shutdown(SHUT_RD): data that arrives later is still ACKed, queued and
      // readable (tcp_recvmsg reads the queue before it looks at RCV_SHUTDOWN); with nothing
      // queued, end-of-file — unless an error is pending, which tcp_recvmsg reports first
      // (sk_err before RCV_SHUTDOWN: a reset after SHUT_RD reads as ECONNRESET).
      if (typeof tcb === 'string') return END_OF_FILE;
      const queued = tcb.recv(this.env.nowUs, maxBytes);
      if (queued instanceof Uint8Array) return { ok: true, value: queued };
      return queued === 'eof' || queued === 'EAGAIN' ? END_OF_FILE : fail(queued);
    }
    if (typeof tcb === 'string') return fail(tcb);
    const got = tcb.recv(this.env.nowUs, maxBytes);
    if (got === 'eof') return END_OF_FILE;
    return typeof got === 'string' ? fail(got) : { ok: true, value: got };
  }

  shutdown(fd: number, how: 'SHUT_RD' | 'SHUT_WR' | 'SHUT_RDWR'): Result<void> {
    const socket = this.sockets.get(fd);
    if (socket === undefined) return fail('EBADF');
    const tcb = socket.tcb;
    if (tcb === null || tcb.state === 'CLOSED' || tcb.state === 'SYN-SENT') return fail('ENOTCONN');
    if (how !== 'SHUT_WR') {
      socket.readSide = false;
      tcb.shutdownRead?.();
    }
    if (how !== 'SHUT_RD') tcb.shutdownWrite(this.env.nowUs);
    return OK;
  }

  /** close(2). The TCB lives on (FIN-WAIT, TIME-WAIT…) after the descriptor is gone. */
  close(fd: number): Result<void> {
    const socket = this.sockets.get(fd);
    if (socket === undefined) return fail('EBADF');
    this.sockets.delete(fd);
    const previousPhase = socket.phase;
    socket.phase = 'closed';
    if (previousPhase === 'listening') {
      this.closeListener(socket);
    } else if (socket.tcb !== null) {
      const tcb = socket.tcb;
      entryOf(tcb).socket = null;
      socket.tcb = null;
      tcb.close(this.env.nowUs);
      this.compactTimeWait(tcb);
      this.releaseTcb(tcb, false);
    } else if (previousPhase === 'bound') {
      this.removeOwner(socket.localPort, socket);
    }
    socket.wake();
    return OK;
  }

  /** A crash: every connection vanishes without a segment, every descriptor is gone. */
  crash(): void {
    this.up = false;
    for (const byRemote of this.connections.values()) {
      for (const { tcb } of byRemote.values()) {
        for (let kind = 0; kind < 5; kind++) this.env.clearTimer(tcb, kind as TimerKind);
        tcb.setState('CLOSED', 'host crash');
      }
    }
    this.connections.clear();
    this.portOwners.clear();
    this.boundOwnerCount.clear();
    this.boundPortsInRange = 0;
    this.destinations.clear();
    for (const socket of this.sockets.values()) {
      if (socket.phase === 'listening') this.env.socketClosedListener(this, socket.localPort, 'LISTEN', 'CLOSED');
      socket.phase = 'closed';
      // Every connection forgets its socket and listener: nothing may wake them any more.
      if (socket.tcb !== null) entryOf(socket.tcb).socket = null;
      for (const tcb of socket.acceptQueue) entryOf(tcb).listener = null;
      for (const tcb of socket.children) entryOf(tcb).listener = null;
    }
    this.sockets.clear();
    this.listeners.clear();
  }

  /** Back up after a crash, with no state (a reboot). */
  restart(): void {
    this.up = true;
  }

  // ---------------------------------------------------------------------------------------
  // Segment arrival
  // ---------------------------------------------------------------------------------------

  receive(seg: Segment, nowUs: number): void {
    if (!this.up) return;
    const tcb = this.lookup(seg.srcIp, seg.srcPort, seg.dstPort);
    if (tcb !== undefined) {
      if (tcb.state !== 'TIME-WAIT') {
        tcb.input(nowUs, seg);
        this.compactTimeWait(tcb);
        this.releaseTcb(tcb, false);
        return;
      }
      if (tcb.timeWaitInput(nowUs, seg) === 'handled') return;
      // Linux TCP_TW_SYN: the old incarnation gives way; the new one starts its ISN beyond
      // everything the old one sent, so old segments cannot fall in its window.
      const isnHint = seqAdd(tcb.sndNxt, 65535 + 2);
      tcb.setState('CLOSED', 'SYN for a new incarnation');
      this.forgetTcb(tcb);
      this.listenInput(nowUs, seg, isnHint === 0 ? 1 : isnHint);
      return;
    }
    this.listenInput(nowUs, seg, -1);
  }

  /** §3.10.7.2 LISTEN, or §3.10.7.1 CLOSED when nobody listens. */
  private listenInput(nowUs: number, seg: Segment, isnHint: number): void {
    const listener = this.listeners.get(seg.dstPort);
    if (listener === undefined) {
      this.closedInput(seg);
      return;
    }
    const flags = seg.flags;
    if (flags & RST) return;
    if (flags & ACK) {
      this.sendReset(seg, seg.ack, 0, RST);
      return;
    }
    if (!(flags & SYN)) return;
    // Linux tcp_conn_request: with the accept queue full (sk_acceptq_is_full: more than the
    // backlog queued, so listen(n) admits n + 1), drop the SYN silently; the client will
    // retransmit it. (SYN cookies, which Linux sends once the half-open requests outnumber the
    // backlog, are left out: README.)
    if (acceptQueueFull(listener)) return;
    const tcb = this.newTcb(seg.dstPort, seg.srcIp, seg.srcPort, { reuseAddr: listener.reuseAddr, lingerSec: listener.lingerSec, rcvBufBytes: listener.rcvBufBytes, sndBufBytes: listener.sndBufBytes }, false);
    // The child inherits the listener's options (C15: SO_LINGER set on the listening socket;
    // Linux sk_clone_lock copies sk_rcvbuf, sk_sndbuf and their locks too).
    tcb.incarnation = seg.incarnation;
    listener.children.add(tcb);
    entryOf(tcb).listener = listener;
    tcb.acceptSyn(nowUs, seg, isnHint >= 0 ? isnHint : this.chooseIsn(seg.dstPort, seg.srcIp, seg.srcPort));
  }

  /** §3.10.7.1 CLOSED: answer anything but a reset with a reset. */
  private closedInput(seg: Segment): void {
    const resetFor = this.endpoint.resetFor;
    if (resetFor !== undefined) {
      const reset = resetFor(seg);
      if (reset !== null) this.sendReset(seg, reset.seq, reset.ack, reset.flags);
      return;
    }
    if (seg.flags & RST) return;
    if (seg.flags & ACK) this.sendReset(seg, seg.ack, 0, RST);
    else this.sendReset(seg, 0, seqAdd(seg.seq, segLen(seg)), RST | ACK);
  }

  private sendReset(cause: Segment, seq: number, ack: number, flags: number): void {
    const fields = RESET_FIELDS;
    fields.seq = seq;
    fields.ack = ack;
    fields.flags = flags;
    this.sendFrom(cause.dstPort, cause.srcIp, cause.srcPort, fields, cause.incarnation, -1);
  }

  /** One segment out, in a spare the world hands back or a new one (each field set, read from `fields` at once). */
  private sendFrom(srcPort: number, dstIp: number, dstPort: number, fields: SegmentFields, incarnation: number, connId: number): void {
    const seg = this.env.spareSegment() ?? blankSegment();
    seg.id = this.env.nextSegmentId();
    seg.srcIp = this.ip;
    seg.srcPort = srcPort;
    seg.dstIp = dstIp;
    seg.dstPort = dstPort;
    seg.seq = fields.seq;
    seg.ack = fields.ack;
    seg.flags = fields.flags;
    seg.window = fields.window;
    seg.mss = fields.mss;
    seg.wscale = fields.wscale;
    seg.sackOk = fields.sackOk;
    seg.sackBlocks = fields.sackBlocks;
    seg.tsVal = fields.tsVal;
    seg.tsEcr = fields.tsEcr;
    seg.payload = fields.payload;
    seg.sentAtUs = 0;
    seg.incarnation = incarnation;
    seg.connId = connId;
    seg.retransmission = fields.retransmission;
    seg.copyOf = -1;
    this.env.sendSegment(seg);
  }

  // ---------------------------------------------------------------------------------------
  // TcbEnv
  // ---------------------------------------------------------------------------------------

  transmit(tcb: Connection, fields: SegmentFields): void {
    if (!this.up) return;
    this.sendFrom(tcb.id.localPort, tcb.id.remoteIp, tcb.id.remotePort, fields, tcb.incarnation, tcb.id.connId);
  }

  setTimer(tcb: Connection, kind: TimerKind, atUs: number): void {
    this.env.setTimer(tcb, kind, atUs);
  }

  clearTimer(tcb: Connection, kind: TimerKind): void {
    this.env.clearTimer(tcb, kind);
  }

  stateChanged(tcb: Connection, from: TcpState, to: TcpState, cause: string): void {
    if (to === 'TIME-WAIT') this.timeWaitCount++;
    else if (from === 'TIME-WAIT') this.timeWaitCount--;
    this.env.stateChanged(tcb, from, to, cause);
    if (to === 'CLOSED' || (to === 'LISTEN' && tcb.passive)) this.forgetTcb(tcb);
    if (to === 'CLOSED' && tcb instanceof TimeWaitConnection) this.releaseRecord(tcb);
  }

  timeWaitRestarted(tcb: Connection, cause: string): void {
    this.env.timeWaitRestarted(tcb, cause);
  }

  segmentAccepted(tcb: Connection, seg: Segment): void {
    this.env.segmentAccepted(tcb, seg);
  }

  wake(tcb: Connection): void {
    entryOf(tcb).socket?.wake();
  }

  /**
   * Linux secure_tcp_ts_off (keyed from the 4-tuple in 6.x, as the ISN is): each connection's
   * TSvals start at a random-looking point, the same for every incarnation of one 4-tuple, so a
   * new incarnation's TSvals continue the old one's clock (what tcp_tw_reuse relies on).
   */
  timestampOffset(tcb: Connection): number {
    return mix4(this.tsSecret, this.ip, tcb.id.localPort, tcb.id.remoteIp, tcb.id.remotePort);
  }

  /** Linux inet_twsk_alloc: no TIME-WAIT bucket once tcp_max_tw_buckets are in use. */
  admitTimeWait(): boolean {
    return this.timeWaitCount < this.config.maxTwBuckets;
  }

  offerToListener(tcb: Connection): boolean {
    const listener = entryOf(tcb).listener;
    if (listener === null || listener.phase !== 'listening') return true;
    if (acceptQueueFull(listener)) return false;
    listener.children.delete(tcb);
    listener.acceptQueue.push(tcb);
    listener.wake();
    return true;
  }

  // ---------------------------------------------------------------------------------------
  // Tables
  // ---------------------------------------------------------------------------------------

  lookup(remoteIp: number, remotePort: number, localPort: number): Connection | undefined {
    return this.connections.get(remoteIp)?.get(portsKey(remotePort, localPort))?.tcb;
  }

  /** Every live connection (TIME-WAIT included), for checks. */
  *liveTcbs(): Iterable<Connection> {
    for (const byRemote of this.connections.values()) for (const entry of byRemote.values()) yield entry.tcb;
  }

  private newTcb(localPort: number, remoteIp: number, remotePort: number, options: TcbOptions, connectBound: boolean): Connection {
    const spare = this.spareTcbs.pop() ?? null;
    const tcb = this.endpoint.createConnection({ connId: this.env.nextConnId(), localIp: this.ip, localPort, remoteIp, remotePort }, this.config, this, options, spare);
    if (tcb === spare) this.tcbsReused++;
    let byRemote = this.connections.get(remoteIp);
    if (byRemote === undefined) {
      byRemote = new Map();
      this.connections.set(remoteIp, byRemote);
    }
    let entry = this.spareEntries.pop();
    if (entry === undefined) entry = new ConnEntry(tcb, connectBound);
    else entry.takeOver(tcb, connectBound);
    tcb.hostEntry = entry;
    byRemote.set(portsKey(remotePort, localPort), entry);
    if (this.destinations.size > 0) this.destinations.get(destinationKey(remoteIp, remotePort))?.add(localPort);
    this.addOwner(localPort, entry);
    if (this.recordAllTcbs) {
      entry.historyIndex = this.allTcbs.length;
      this.allTcbs.push(tcb);
    }
    return tcb;
  }

  /**
   * A connection in TIME-WAIT whose socket is closed keeps only what TIME-WAIT needs: swap its
   * TCB for the small record it offers (time-wait.ts), in the table, the bind table's entry and
   * the history; the world moves its timer. Nothing else may hold the TCB any more. Called
   * after every segment a connection takes and every close; most calls return at the first test.
   */
  private compactTimeWait(tcb: Connection): void {
    if (tcb.state !== 'TIME-WAIT' || !tcb.orphaned || tcb.compactForTimeWait === undefined || !this.compactTimeWaitConnections) return;
    const entry = entryOf(tcb);
    if (entry.socket !== null || entry.listener !== null) return;
    if (this.connections.get(tcb.id.remoteIp)?.get(portsKey(tcb.id.remotePort, tcb.id.localPort)) !== entry) return;
    const spare = this.spareRecords.pop() ?? null;
    const record = tcb.compactForTimeWait(spare);
    if (record === null) {
      if (spare !== null) this.spareRecords.push(spare);
      return;
    }
    if (record === spare) this.timeWaitRecordsReused++;
    entry.tcb = record;
    record.hostEntry = entry;
    if (entry.historyIndex >= 0) this.allTcbs[entry.historyIndex] = record;
    this.env.connectionReplaced(tcb, record);
    this.releaseTcb(tcb, true);
  }

  /** Nothing outside the host may hold a finished connection: no history kept, nothing observing. */
  private mayReuseConnections(): boolean {
    return this.reuseConnections && !this.recordAllTcbs && !this.env.observesConnections;
  }

  /**
   * A TCB the host let go of, at a point where none of its own code is running any more (after
   * the segment, the call or the swap that ended it): to the free list, when it is CLOSED or
   * swapped for its record (`swapped`), no socket or listener reaches it, no timer of it is
   * pending and the tables no longer hold it.
   */
  private releaseTcb(tcb: Connection, swapped: boolean): void {
    if ((!swapped && tcb.state !== 'CLOSED') || !this.mayReuseConnections() || this.spareTcbs.length >= SPARE_CONNECTIONS_MAX) return;
    if (holdsTimer(tcb)) return;
    const entry = entryOf(tcb);
    if (!swapped) {
      if (entry.socket !== null || entry.listener !== null || entry.tcb !== tcb) return;
      if (this.connections.get(tcb.id.remoteIp)?.get(portsKey(tcb.id.remotePort, tcb.id.localPort)) === entry) return;
      this.spareEntries.push(entry);
    }
    this.spareTcbs.push(tcb);
  }

  /**
   * A record that reached CLOSED goes to the free list with its entry, once forgotten: when
   * nothing else may hold it (no history, nothing observing) and no timer of it is left pending
   * (one a new SYN closed still has its 2·MSL timer queued, which will fire on it harmlessly).
   * Its own code still runs after this (`wake` reads its entry), so it is made over only later,
   * by a compactTimeWait or newTcb, never inside the call that closed it.
   */
  private releaseRecord(record: TimeWaitConnection): void {
    if (!this.mayReuseConnections() || this.spareRecords.length >= SPARE_CONNECTIONS_MAX) return;
    if (holdsTimer(record)) return;
    const entry = entryOf(record);
    if (entry.socket !== null || entry.listener !== null || entry.tcb !== record) return;
    this.spareRecords.push(record);
    this.spareEntries.push(entry);
  }

  private forgetTcb(tcb: Connection): void {
    const byRemote = this.connections.get(tcb.id.remoteIp);
    const key = portsKey(tcb.id.remotePort, tcb.id.localPort);
    const entry = byRemote?.get(key);
    // The table holds at most one connection per 4-tuple (connect and the listener check
    // first), so a TCB's entry is the one under its key, until it is forgotten.
    if (entry !== undefined && entry.tcb === tcb) {
      byRemote!.delete(key);
      if (this.destinations.size > 0) this.destinations.get(destinationKey(tcb.id.remoteIp, tcb.id.remotePort))?.remove(tcb.id.localPort);
      this.removeOwner(tcb.id.localPort, entry);
    }
    const self = entryOf(tcb);
    const listener = self.listener;
    if (listener !== null) {
      listener.children.delete(tcb);
      // A connection reset (or timed out) while it waits in the accept queue stays there, as in
      // Linux (tcp_done leaves an unaccepted child queued): accept() returns it and the first
      // recv reports the error. Dropping it would leave accept() blocked for a connection the
      // client saw established.
      if (!listener.acceptQueue.includes(tcb)) self.listener = null;
    }
  }

  /**
   * Linux inet_csk_listen_stop: every connection queued for accept() that nobody accepted is
   * disconnected (inet_child_forget, tcp_disconnect), which sends <SEQ=SND.NXT><ACK=RCV.NXT>
   * <CTL=RST,ACK> from a synchronized state; a half-open request is dropped without a segment
   * (its timer finds the listener gone, reqsk_timer_handler), and a final ACK that comes for it
   * later meets no connection and gets the reset of §3.10.7.1.
   */
  private closeListener(socket: Socket): void {
    if (this.listeners.get(socket.localPort) === socket) this.listeners.delete(socket.localPort);
    this.removeOwner(socket.localPort, socket);
    this.env.socketClosedListener(this, socket.localPort, 'LISTEN', 'CLOSED');
    const queued = [...socket.acceptQueue];
    const halfOpen = [...socket.children];
    socket.acceptQueue.length = 0;
    socket.children.clear();
    for (const tcb of halfOpen) {
      entryOf(tcb).listener = null;
      for (let kind = 0; kind < 5; kind++) this.env.clearTimer(tcb, kind as TimerKind);
      tcb.setState('LISTEN', 'listener closed (request dropped)');
    }
    for (const tcb of queued) {
      entryOf(tcb).listener = null;
      tcb.orphaned = true;
      tcb.abort(this.env.nowUs, 'listener closed');
    }
  }

  private addOwner(port: number, owner: PortOwner): void {
    const owners = this.portOwners.get(port);
    if (owners === undefined) {
      this.portOwners.set(port, owner);
    } else if (owners instanceof Set) {
      if (owners.has(owner)) return;
      owners.add(owner);
    } else if (owners !== owner) {
      // A second owner: from now on a Set, the first owner first (iteration order is arrival order).
      this.portOwners.set(port, new Set([owners, owner]));
    } else {
      return;
    }
    // An owner's connectBound never changes while it owns the port (connect() sets it before
    // adding the socket and removes the socket before a failed connect clears it).
    if (!owner.connectBound) this.countBoundOwner(port, 1);
  }

  private removeOwner(port: number, owner: PortOwner): void {
    const owners = this.portOwners.get(port);
    if (owners === undefined) return;
    if (!(owners instanceof Set)) {
      if (owners !== owner) return;
      this.portOwners.delete(port);
    } else {
      if (!owners.delete(owner)) return;
      // Back to one owner: keep it directly, as a port that only ever had one.
      if (owners.size === 1) this.portOwners.set(port, owners.values().next().value!);
    }
    if (!owner.connectBound) this.countBoundOwner(port, -1);
  }

  private countBoundOwner(port: number, delta: 1 | -1): void {
    const count = (this.boundOwnerCount.get(port) ?? 0) + delta;
    const inRange = port >= this.config.ephemeralPortMin && port <= this.config.ephemeralPortMax;
    if (count === 0) {
      this.boundOwnerCount.delete(port);
      if (inRange) this.boundPortsInRange--;
    } else {
      this.boundOwnerCount.set(port, count);
      if (count === 1 && inRange) this.boundPortsInRange++;
    }
  }

  /** Does any other owner of `port` stop `socket` binding it? The rule is the endpoint's (Linux's by default). */
  bindConflict(socket: Socket, port: number, atListen = false): boolean {
    const owners = this.portOwners.get(port);
    if (owners === undefined) return false;
    if (!(owners instanceof Set)) return owners !== socket && this.conflictsWith(socket, owners, atListen);
    for (const other of owners) {
      if (other !== socket && this.conflictsWith(socket, other, atListen)) return true;
    }
    return false;
  }

  private conflictsWith(socket: Socket, other: PortOwner, atListen: boolean): boolean {
    // Linux inet_rcv_saddr_equal: owners bound to two different specific addresses never
    // conflict; the wildcard overlaps every address.
    if (socket.boundIp !== ANY_ADDRESS && other.boundIp !== ANY_ADDRESS && socket.boundIp !== other.boundIp) return false;
    const candidate = { newReuseAddr: socket.reuseAddr, otherReuseAddr: other.reuseAddr, otherListening: other.listening, otherTimeWait: other.timeWait, atListen };
    return this.endpoint.bindConflicts(candidate);
  }

  /** bind(port 0): Linux inet_csk_find_open_port — a port with no owner at all. */
  private findFreePort(socket: Socket): number {
    const { ephemeralPortMin: min, ephemeralPortMax: max } = this.config;
    const span = max - min + 1;
    const start = this.portRng.int(0, span);
    for (let i = 0; i < span; i++) {
      const port = min + ((start + i) % span);
      if (!this.portOwners.has(port) || !this.bindConflict(socket, port)) return port;
    }
    return -1;
  }

  /**
   * connect() autobind, Linux __inet_hash_connect: from a random offset, the first port of the
   * range not bound with bind() whose 4-tuple to this destination is free (a TIME-WAIT on it is
   * not). With 10^5 connections the range fills up, and a port-by-port search of 28,232 ports
   * per connect() would dominate the run; so the search reads a bitmap of the destination's
   * ports, skips whole words of used ports, and when every port of the range is taken it fails
   * at once. It returns the same port the plain search would.
   */
  private findConnectPort(remoteIp: number, remotePort: number): number {
    const { ephemeralPortMin: min, ephemeralPortMax: max } = this.config;
    const span = max - min + 1;
    // Drawn first, whatever the table holds, so the stream of draws is the plain search's.
    const start = this.portRng.int(0, span);
    const destination = this.destinationOf(remoteIp, remotePort);
    // tcp_tw_reuse: a used port may still do, if a TIME-WAIT the search may take over holds it.
    const reuse = this.config.twReuse === 1 || (this.config.twReuse === 2 && remoteIp === this.ip);
    if (!reuse && this.boundPortsInRange === 0 && destination.inRange >= span) return -1;
    const used = destination.ports;
    const bound = this.boundPortsInRange > 0 ? this.boundOwnerCount : null;
    for (let i = 0; i < span; i++) {
      const port = min + ((start + i) % span);
      const word = used[port >>> 5]!;
      if (word !== 0) {
        // 32 used ports in a row, all inside the range and before the wrap: step over them.
        if (!reuse && word === ALL_USED && (port & 31) === 0 && port + 31 <= max && i + 32 <= span) {
          i += 31;
          continue;
        }
        if (word & (1 << (port & 31))) {
          if (!reuse) continue;
          const holder = this.lookup(remoteIp, remotePort, port);
          const state = holder?.state === 'TIME-WAIT' ? (holder.timeWaitReuse?.() ?? null) : null;
          if (holder === undefined || state === null || !this.mayReuseTimeWait(holder, state)) continue;
          if (bound !== null && bound.has(port)) continue;
          return port;
        }
      }
      if (bound !== null && bound.has(port)) continue;
      return port;
    }
    return -1;
  }

  /**
   * The mutant seam's port search, never the reference's (Endpoint.portSearchIgnoresTimeWait):
   * the same draw, then the first port not bound with bind() whose 4-tuple is free or held by a
   * TIME-WAIT. A plain scan: no mutant needs the bitmap's speed, and the bitmap stays unmade.
   */
  private findPortOverTimeWait(remoteIp: number, remotePort: number): number {
    const { ephemeralPortMin: min, ephemeralPortMax: max } = this.config;
    const span = max - min + 1;
    const start = this.portRng.int(0, span);
    for (let i = 0; i < span; i++) {
      const port = min + ((start + i) % span);
      if (this.boundOwnerCount.has(port)) continue;
      const holder = this.lookup(remoteIp, remotePort, port);
      if (holder === undefined || holder.state === 'TIME-WAIT') return port;
    }
    return -1;
  }

  /**
   * Linux tcp_twsk_unique for connect()'s port search (twp != NULL): tcp_tw_reuse 1, or 2 with
   * both ends on this host (Linux asks for a loopback address), and the TIME-WAIT older than
   * tcp_tw_reuse_delay (Linux compares with tw_entry_stamp, strictly later).
   */
  private mayReuseTimeWait(holder: Connection, state: TimeWaitReuse): boolean {
    const reuse = this.config.twReuse === 1 || (this.config.twReuse === 2 && holder.id.remoteIp === this.ip);
    return reuse && this.env.nowUs - state.enteredUs > this.config.twReuseDelayUs;
  }

  /** The destination's port bitmap, built from the connection table the first time it is asked for. */
  private destinationOf(remoteIp: number, remotePort: number): Destination {
    const key = destinationKey(remoteIp, remotePort);
    let destination = this.destinations.get(key);
    if (destination === undefined) {
      destination = new Destination(this.config.ephemeralPortMin, this.config.ephemeralPortMax);
      for (const entry of this.connections.get(remoteIp)?.values() ?? []) {
        if (entry.tcb.id.remotePort === remotePort) destination.add(entry.tcb.id.localPort);
      }
      this.destinations.set(key, destination);
    }
    return destination;
  }

  /** RFC 9293 §3.4.1 ISN selection, by policy. */
  private chooseIsn(localPort: number, remoteIp: number, remotePort: number): number {
    const policy = this.config.isn;
    switch (policy.kind) {
      case 'fixed':
        return policy.value >>> 0;
      case 'random':
        return this.isnRng.uint32();
      case 'rfc6528': {
        // RFC 6528: ISN = M + F(4-tuple, secretkey), M a 4 µs clock. F here is a keyed 32-bit
        // mix, not MD5: enough to separate 4-tuples in a simulation, not meant to resist attack.
        const clock = Math.floor(this.env.nowUs / 4);
        return (clock + mix4(this.isnSecret, this.ip, localPort, remoteIp, remotePort)) >>> 0;
      }
    }
  }

  private tcbOf(fd: number): Connection | Errno {
    const socket = this.sockets.get(fd);
    if (socket === undefined) return 'EBADF';
    // Linux tcp_recvmsg: ENOTCONN on a listener as on a socket never connected.
    if (socket.tcb === null) return 'ENOTCONN';
    return socket.tcb;
  }
}

const EMPTY = EMPTY_PAYLOAD;
/** Slots per page of the socket table (descriptor >>> 8 picks the page). */
const SOCKETS_PER_PAGE = 256;

interface SocketPage {
  readonly slots: (Socket | undefined)[];
  live: number;
}

/**
 * send()'s results by byte count, made once each and frozen: a program sends the same few
 * sizes over and over, and a result object per call was an allocation per send.
 */
const SENT_RESULTS: Result<number>[] = [];
const SENT_RESULTS_MAX = 1 << 16;

function sentResult(bytes: number): Result<number> {
  if (bytes >= SENT_RESULTS_MAX) return { ok: true, value: bytes };
  return (SENT_RESULTS[bytes] ??= Object.freeze({ ok: true, value: bytes }));
}
const OK: Result<void> = Object.freeze({ ok: true, value: undefined });
/** recv's end-of-file: no bytes. Shared, as nothing can be written into an empty array. */
const END_OF_FILE: Result<Uint8Array> = Object.freeze({ ok: true, value: EMPTY });

/**
 * Sockets by descriptor, in pages of 256: descriptors only grow, and a page goes once all its
 * sockets are closed. Iteration is in descriptor order, the order a Map<fd, Socket> had.
 *
 * Why not that Map: a socket is added and removed per connection, so its hash table was rebuilt
 * again and again, and V8 links each superseded table to its successor (for live iterators).
 * Once one table had reached the old generation, that chain kept every later socket, and its
 * TCB, alive through young-generation collections until the next full one: at 10^5
 * connections, most of them were promoted. The same goes for the maps from TCB to socket and to
 * listener, which now live on the connection's entry.
 */
class SocketTable {
  private readonly pages = new Map<number, SocketPage>();
  /**
   * The last page emptied, kept for the next one needed. Descriptors only grow, so a host with
   * one connection at a time empties and starts a page at every socket: without this, a new
   * page's slots array grew up to its descriptor's slot every time (1.9 KB per lifecycle).
   */
  private sparePage: SocketPage | null = null;

  get(fd: number): Socket | undefined {
    return this.pages.get(fd >>> 8)?.slots[fd & 255];
  }

  /** Add the socket of a new descriptor. */
  set(fd: number, socket: Socket): void {
    let page = this.pages.get(fd >>> 8);
    if (page === undefined) {
      // An emptied page's slots are all undefined again: it serves as a new one.
      page = this.sparePage ?? { slots: new Array<Socket | undefined>(SOCKETS_PER_PAGE), live: 0 };
      this.sparePage = null;
      this.pages.set(fd >>> 8, page);
    }
    if (page.slots[fd & 255] === undefined) page.live++;
    page.slots[fd & 255] = socket;
  }

  delete(fd: number): void {
    const page = this.pages.get(fd >>> 8);
    if (page === undefined || page.slots[fd & 255] === undefined) return;
    page.slots[fd & 255] = undefined;
    if (--page.live === 0) {
      this.pages.delete(fd >>> 8);
      this.sparePage = page;
    }
  }

  *values(): IterableIterator<Socket> {
    for (const page of this.pages.values()) {
      for (const socket of page.slots) if (socket !== undefined) yield socket;
    }
  }

  clear(): void {
    this.pages.clear();
  }
}

/** Linux sk_acceptq_is_full: the queue holds more than the backlog, so listen(n) admits n + 1 connections. */
function acceptQueueFull(listener: Socket): boolean {
  return listener.acceptQueue.length > listener.backlog;
}

/** The host's entry of a connection it created (set in newTcb, kept by a TIME-WAIT record). */
/** The fields of a reset for no connection (Linux tcp_v4_send_reset: no options), filled per reset and read at once. */
const RESET_FIELDS: SegmentFields = { seq: 0, ack: 0, flags: 0, window: 0, ...NO_OPTIONS, sackBlocks: NO_SACK_BLOCKS, payload: EMPTY_PAYLOAD, retransmission: false };

/** Spare records, TCBs (and entries) kept at most each: a burst of connections ending should not pin memory for ever. */
const SPARE_CONNECTIONS_MAX = 4096;

/** The world still has a timer event of the connection's (released ones are null: World.takeBackTimerEvents). */
function holdsTimer(conn: Connection): boolean {
  const handles = conn.timerHandles;
  for (let kind = 0; kind < handles.length; kind++) if (handles[kind] !== null) return true;
  return false;
}

function entryOf(tcb: Connection): ConnEntry {
  return tcb.hostEntry as ConnEntry;
}

/** Local ports with a connection to one remote address and port, as one bit each (8 KiB). */
class Destination {
  readonly ports = new Uint32Array(65536 / 32);
  /** How many of them lie in the ephemeral range. */
  inRange = 0;

  constructor(
    private readonly min: number,
    private readonly max: number,
  ) {}

  add(port: number): void {
    this.ports[port >>> 5]! |= 1 << (port & 31);
    if (port >= this.min && port <= this.max) this.inRange++;
  }

  remove(port: number): void {
    this.ports[port >>> 5]! &= ~(1 << (port & 31));
    if (port >= this.min && port <= this.max) this.inRange--;
  }
}

const ALL_USED = 0xffff_ffff;

function destinationKey(remoteIp: number, remotePort: number): number {
  return remoteIp * 65536 + remotePort;
}

/** The connection table's key for a pair of ports: 32 bits, kept signed so it is a small integer. */
function portsKey(remotePort: number, localPort: number): number {
  return (remotePort << 16) | localPort;
}

/** One frozen failure per errno, made on first use: a socket call that fails (EAGAIN on every park) allocates nothing. */
const FAILURES = new Map<Errno, { readonly ok: false; readonly errno: Errno }>();

function fail(errno: Errno): { ok: false; errno: Errno } {
  let failure = FAILURES.get(errno);
  if (failure === undefined) {
    failure = Object.freeze({ ok: false, errno });
    FAILURES.set(errno, failure);
  }
  return failure as { ok: false; errno: Errno };
}

function mix4(secret: number, a: number, b: number, c: number, d: number): number {
  // One round per value, unrolled: an array of the four was an allocation per ISN.
  return mixRound(mixRound(mixRound(mixRound(secret >>> 0, a), b), c), d) >>> 0;
}

function mixRound(h: number, v: number): number {
  h = Math.imul(h ^ (v >>> 0), 0x9e3779b1);
  h = (h ^ (h >>> 15)) >>> 0;
  h = Math.imul(h, 0x85ebca77) >>> 0;
  return (h ^ (h >>> 13)) >>> 0;
}
