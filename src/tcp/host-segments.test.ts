/**
 * Segments that find no connection (RFC 9293 §3.10.7.1 CLOSED, §3.10.7.2 LISTEN), driven by a
 * scripted peer so the exact segments each way are known: the host's own resets field by field
 * (Linux tcp_v4_send_reset: window 0, no options), what a listener answers and ignores, a host
 * that is down, and a SYN that reopens a 4-tuple in TIME-WAIT.
 */
import { describe, expect, it } from 'vitest';
import { parseIpv4 } from '../net/address.js';
import { TraceRecorder } from '../world/trace.js';
import { World } from '../world/world.js';
import { REFERENCE_ENDPOINT, type Endpoint } from './endpoint.js';
import { ACK, FIN, PSH, RST, SYN, type Segment } from './segment.js';

const HOST_IP = parseIpv4('192.168.0.1');
const PEER_IP = parseIpv4('192.0.2.1');
const MS = 1_000;

/** A host (ISNs fixed at 5000) with a listener on 8080 and a scripted peer wired to it. */
function hostAndPeer(options: { backlog?: number; isn?: number } = {}) {
  const world = new World({ seed: 1, stack: { isn: { kind: 'fixed', value: options.isn ?? 5000 } } });
  const recorder = new TraceRecorder();
  world.addListener(recorder);
  const host = world.addHost('host', { ip: HOST_IP });
  const peer = world.attachPeer('peer', PEER_IP);
  const listener = host.socket();
  host.bind(listener, 8080);
  host.listen(listener, options.backlog ?? 4);
  const received: Segment[] = [];
  peer.onSegment((seg) => received.push(seg));
  return { world, host, peer, listener, received, recorder };
}

/** The fields of a reset that matter, for exact comparison. */
function resetFields(seg: Segment) {
  return {
    srcIp: seg.srcIp,
    srcPort: seg.srcPort,
    dstIp: seg.dstIp,
    dstPort: seg.dstPort,
    seq: seg.seq,
    ack: seg.ack,
    flags: seg.flags,
    window: seg.window,
    mss: seg.mss,
    wscale: seg.wscale,
    sackOk: seg.sackOk,
    sackBlocks: [...(seg.sackBlocks ?? [])],
    tsVal: seg.tsVal,
    payloadBytes: seg.payload.length,
    connId: seg.connId,
    retransmission: seg.retransmission,
    copyOf: seg.copyOf,
  };
}

const resetTo = (peerPort: number, hostPort: number, seq: number, ack: number, flags: number) => ({
  srcIp: HOST_IP,
  srcPort: hostPort,
  dstIp: PEER_IP,
  dstPort: peerPort,
  seq,
  ack,
  flags,
  window: 0,
  mss: 0,
  wscale: -1,
  sackOk: false,
  sackBlocks: [],
  tsVal: -1,
  payloadBytes: 0,
  connId: -1,
  retransmission: false,
  copyOf: -1,
});

describe('a segment to a port nobody listens on (RFC 9293 §3.10.7.1)', () => {
  it('C1: a SYN gets <SEQ=0><ACK=SEG.SEQ+1><CTL=RST,ACK>, window 0 and no options', () => {
    // Arrange
    const { world, peer, received } = hostAndPeer();
    // Act
    peer.send({ srcPort: 40000, dstIp: HOST_IP, dstPort: 9999, seq: 1000, ack: 0, flags: SYN, window: 65535, mss: 1460, tsVal: 7, wscale: 7, sackOk: true });
    world.runUntil(MS);
    // Assert
    expect(received.map(resetFields)).toEqual([resetTo(40000, 9999, 0, 1001, RST | ACK)]);
  });

  it('data and a FIN without ACK get ACK = SEG.SEQ + SEG.LEN, the FIN counted (C4)', () => {
    // Arrange
    const { world, peer, received } = hostAndPeer();
    // Act
    peer.send({ srcPort: 40001, dstIp: HOST_IP, dstPort: 9999, seq: 2000, ack: 0, flags: FIN | PSH, window: 65535, payload: new Uint8Array(10) });
    world.runUntil(MS);
    // Assert
    expect(received.map(resetFields)).toEqual([resetTo(40001, 9999, 0, 2011, RST | ACK)]);
  });

  it('a segment with ACK gets <SEQ=SEG.ACK><CTL=RST>, no ACK field', () => {
    const { world, peer, received } = hostAndPeer();
    peer.send({ srcPort: 40002, dstIp: HOST_IP, dstPort: 9999, seq: 3000, ack: 777, flags: ACK, window: 65535 });
    world.runUntil(MS);
    expect(received.map(resetFields)).toEqual([resetTo(40002, 9999, 777, 0, RST)]);
  });

  it('a RST gets nothing', () => {
    const { world, peer, received } = hostAndPeer();
    peer.send({ srcPort: 40003, dstIp: HOST_IP, dstPort: 9999, seq: 3000, ack: 0, flags: RST, window: 0 });
    peer.send({ srcPort: 40003, dstIp: HOST_IP, dstPort: 9999, seq: 3000, ack: 5, flags: RST | ACK, window: 0 });
    world.runUntil(MS);
    expect(received).toEqual([]);
  });
});

describe('a segment to a listening port with no connection (RFC 9293 §3.10.7.2)', () => {
  it('a RST is ignored, with ACK or without; an ACK gets <SEQ=SEG.ACK><CTL=RST>; a segment with neither SYN nor ACK is dropped', () => {
    // Arrange
    const { world, peer, received } = hostAndPeer();
    // Act
    peer.send({ srcPort: 40010, dstIp: HOST_IP, dstPort: 8080, seq: 100, ack: 0, flags: RST, window: 0 });
    peer.send({ srcPort: 40010, dstIp: HOST_IP, dstPort: 8080, seq: 100, ack: 9, flags: RST | ACK, window: 0 });
    peer.send({ srcPort: 40011, dstIp: HOST_IP, dstPort: 8080, seq: 100, ack: 0, flags: FIN, window: 65535 });
    peer.send({ srcPort: 40012, dstIp: HOST_IP, dstPort: 8080, seq: 100, ack: 4242, flags: ACK, window: 65535 });
    world.runUntil(MS);
    // Assert
    expect(received.map(resetFields)).toEqual([resetTo(40012, 8080, 4242, 0, RST)]);
  });

  it('C2: a SYN gets the listener child\'s SYN,ACK, ack = SEG.SEQ + 1', () => {
    const { world, peer, received } = hostAndPeer();
    peer.send({ srcPort: 40013, dstIp: HOST_IP, dstPort: 8080, seq: 100, ack: 0, flags: SYN, window: 65535, mss: 1460 });
    world.runUntil(MS);
    expect(received.map((s) => [s.flags, s.seq, s.ack, s.srcPort, s.dstPort])).toEqual([[SYN | ACK, 5000, 101, 8080, 40013]]);
  });

  it('with more than the backlog queued for accept (Linux sk_acceptq_is_full), a new SYN is dropped without a word', () => {
    // Arrange: backlog 0 admits one; it completes and waits in the queue.
    const { world, peer, received } = hostAndPeer({ backlog: 0 });
    peer.send({ srcPort: 40020, dstIp: HOST_IP, dstPort: 8080, seq: 100, ack: 0, flags: SYN, window: 65535, mss: 1460 });
    world.runUntil(MS);
    peer.send({ srcPort: 40020, dstIp: HOST_IP, dstPort: 8080, seq: 101, ack: 5001, flags: ACK, window: 65535 });
    world.runUntil(2 * MS);
    expect(received).toHaveLength(1);
    // Act
    peer.send({ srcPort: 40021, dstIp: HOST_IP, dstPort: 8080, seq: 100, ack: 0, flags: SYN, window: 65535, mss: 1460 });
    world.runUntil(3 * MS);
    // Assert
    expect(received).toHaveLength(1);
  });
});

describe('a host that is down', () => {
  it('answers nothing while crashed, and after its restart answers a SYN to a port nobody listens on with a RST', () => {
    // Arrange
    const { world, host, peer, received } = hostAndPeer();
    host.crash();
    // Act 1
    peer.send({ srcPort: 40030, dstIp: HOST_IP, dstPort: 8080, seq: 100, ack: 0, flags: SYN, window: 65535 });
    world.runUntil(MS);
    // Assert 1
    expect(received).toEqual([]);
    // Act 2: the listener is gone with the crash.
    host.restart();
    peer.send({ srcPort: 40030, dstIp: HOST_IP, dstPort: 8080, seq: 100, ack: 0, flags: SYN, window: 65535 });
    world.runUntil(2 * MS);
    // Assert 2
    expect(received.map(resetFields)).toEqual([resetTo(40030, 8080, 0, 101, RST | ACK)]);
  });
});

describe('a SYN for a 4-tuple in TIME-WAIT on a listening port (Linux TCP_TW_SYN, C10)', () => {
  it('C10: the TIME-WAIT gives way ("SYN for a new incarnation") and the new SYN,ACK starts at old SND.NXT + 65537, or 1 where that wraps to 0', () => {
    // Arrange: server b (ISN 2^32 − 65539, so SND.NXT + 65537 ≡ 0 after its SYN and FIN) closes first
    // and holds a:8848 ↔ b:9000 in TIME-WAIT; a's ISNs follow the clock, so its next SYN is above RCV.NXT.
    const world = new World({ seed: 1 });
    const recorder = new TraceRecorder();
    world.addListener(recorder);
    const a = world.addHost('a');
    const b = world.addHost('b', { stack: { isn: { kind: 'fixed', value: 2 ** 32 - 65537 - 2 } } });
    const listener = b.socket();
    b.bind(listener, 9000);
    b.listen(listener, 4);
    const first = a.socket();
    a.bind(first, 8848);
    a.connect(first, b.ip, 9000);
    world.runUntil(10 * MS);
    const child = b.accept(listener);
    if (!child.ok) throw new Error(`accept: ${child.errno}`);
    b.close(child.value);
    world.runUntil(20 * MS);
    a.close(first);
    world.runUntil(30 * MS);
    expect(b.lookup(a.ip, 8848, 9000)?.state).toBe('TIME-WAIT');
    const before = recorder.events.length;
    // Act
    const second = a.socket();
    a.bind(second, 8848);
    a.connect(second, b.ip, 9000);
    world.runUntil(40 * MS);
    // Assert
    const after = recorder.events.slice(before);
    expect(after.flatMap((e) => (e.type === 'state' && e.conn.host === 'b' && e.from === 'TIME-WAIT' ? [`${e.to} (${e.cause})`] : []))).toEqual(['CLOSED (SYN for a new incarnation)']);
    const synAcks = after.flatMap((e) => (e.type === 'segment' && e.fate === 'sent' && e.seg.srcIp === b.ip && e.seg.flags === (SYN | ACK) ? [e.seg.seq] : []));
    expect(synAcks).toEqual([1]);
    expect(a.connectResult(second)).toEqual({ ok: true, value: undefined });
  });
});

describe('the endpoint\'s own resets for segments with no connection (Endpoint.resetFor)', () => {
  it('the host sends the reset resetFor gives, fields as given, and none where it gives null', () => {
    // Arrange: an endpoint that answers SYNs with a reset of its own and ignores everything else.
    const endpoint: Endpoint = { ...REFERENCE_ENDPOINT, name: 'own-resets', resetFor: (seg) => (seg.flags & SYN ? { seq: 11, ack: 22, flags: RST | ACK } : null) };
    const world = new World({ seed: 1, endpoint });
    world.addHost('host', { ip: HOST_IP });
    const peer = world.attachPeer('peer', PEER_IP);
    const received: Segment[] = [];
    peer.onSegment((seg) => received.push(seg));
    // Act
    peer.send({ srcPort: 40040, dstIp: HOST_IP, dstPort: 9999, seq: 100, ack: 0, flags: SYN, window: 65535 });
    peer.send({ srcPort: 40041, dstIp: HOST_IP, dstPort: 9999, seq: 100, ack: 5, flags: ACK, window: 65535 });
    world.runUntil(MS);
    // Assert
    expect(received.map(resetFields)).toEqual([resetTo(40040, 9999, 11, 22, RST | ACK)]);
  });
});

describe('close() of a listener (Linux inet_csk_listen_stop)', () => {
  it('a connection queued for accept is reset with <SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK>; a half-open one goes silently, and its late final ACK meets a RST', () => {
    // Arrange: peer port 40050 completes its handshake (queued); 40051 only sends its SYN (half-open).
    const { world, host, peer, listener, received } = hostAndPeer();
    peer.send({ srcPort: 40050, dstIp: HOST_IP, dstPort: 8080, seq: 100, ack: 0, flags: SYN, window: 65535, mss: 1460 });
    world.runUntil(MS);
    peer.send({ srcPort: 40050, dstIp: HOST_IP, dstPort: 8080, seq: 101, ack: 5001, flags: ACK, window: 65535 });
    peer.send({ srcPort: 40051, dstIp: HOST_IP, dstPort: 8080, seq: 300, ack: 0, flags: SYN, window: 65535, mss: 1460 });
    world.runUntil(2 * MS);
    expect(received.map((s) => [s.dstPort, s.flags])).toEqual([[40050, SYN | ACK], [40051, SYN | ACK]]);
    received.length = 0;
    // Act
    host.close(listener);
    world.runUntil(3 * MS);
    peer.send({ srcPort: 40051, dstIp: HOST_IP, dstPort: 8080, seq: 301, ack: 5001, flags: ACK, window: 65535 });
    world.runUntil(4 * MS);
    // Assert
    expect(received.map((s) => [s.dstPort, s.flags, s.seq, s.ack])).toEqual([
      [40050, RST | ACK, 5001, 101],
      [40051, RST, 5001, 0],
    ]);
  });
});
