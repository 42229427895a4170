import { describe, expect, it } from 'vitest';
import { parseIpv4 } from '../net/address.js';
import { ACK, SYN } from '../tcp/segment.js';
import { TraceRecorder } from './trace.js';
import { World } from './world.js';

const HOST_IP = parseIpv4('192.168.0.1');
const PEER_IP = parseIpv4('192.0.2.1');

function listeningWorld() {
  const world = new World({ seed: 1, stack: { isn: { kind: 'fixed', value: 5000 } } });
  const host = world.addHost('host', { ip: HOST_IP });
  const peer = world.attachPeer('peer', PEER_IP);
  const recorder = new TraceRecorder();
  world.addListener(recorder);
  const fd = host.socket();
  expect(host.bind(fd, 8080).ok).toBe(true);
  expect(host.listen(fd, 1).ok).toBe(true);
  return { world, host, peer, recorder, fd };
}

describe('scripted peer (C1–C3 driven by hand-made segments)', () => {
  it('injects a SYN at a virtual time and sees the SYN,ACK at that same instant (no link delay)', () => {
    const { world, peer } = listeningWorld();
    peer.sendAt(100_000, { srcPort: 40000, dstIp: HOST_IP, dstPort: 8080, seq: 0, ack: 0, flags: SYN, window: 65535, mss: 1460 });
    world.runUntil(200_000);
    expect(world.nowUs).toBe(200_000);
    expect(peer.received).toHaveLength(1);
    const { seg, atUs } = peer.received[0]!;
    expect(atUs).toBe(100_000);
    expect(seg.flags).toBe(SYN | ACK);
    expect(seg.seq).toBe(5000);
    expect(seg.ack).toBe(1);
    expect(seg.mss).toBe(1460);
  });

  it('completes the handshake: the third ACK puts the child in the accept queue', () => {
    const { world, host, peer, recorder, fd } = listeningWorld();
    const seen: number[] = [];
    peer.onSegment((seg) => seen.push(seg.flags));
    peer.sendAt(0, { srcPort: 40000, dstIp: HOST_IP, dstPort: 8080, seq: 0, ack: 0, flags: SYN, window: 65535, mss: 1460 });
    peer.sendAt(10_000, { srcPort: 40000, dstIp: HOST_IP, dstPort: 8080, seq: 1, ack: 5001, flags: ACK, window: 65535 });
    world.runUntil(20_000);
    expect(seen).toEqual([SYN | ACK]);
    const accepted = host.accept(fd);
    expect(accepted.ok).toBe(true);
    // The injected segments are on the trace like any host's, with no connection of their own.
    const peerSent = recorder.events.filter((e) => e.type === 'segment' && e.fate === 'sent' && e.seg.srcIp === PEER_IP);
    expect(peerSent).toHaveLength(2);
    expect(peerSent.every((e) => e.type === 'segment' && e.seg.connId === -1)).toBe(true);
    // The child takes the incarnation the peer's SYN opened.
    const state = recorder.events.find((e) => e.type === 'state' && e.to === 'ESTABLISHED');
    expect(state?.type === 'state' && state.conn.incarnation).toBe(1);
  });

  it('world.at runs a callback at its time, after what was already scheduled then; cancel stops it', () => {
    const world = new World({ seed: 1 });
    const order: string[] = [];
    world.at(50, () => order.push(`a@${world.nowUs}`));
    world.at(50, () => order.push(`b@${world.nowUs}`));
    const c = world.at(60, () => order.push('c'));
    c.cancel();
    world.runUntil(1_000);
    expect(order).toEqual(['a@50', 'b@50']);
    expect(world.nowUs).toBe(1_000);
  });

  it('runUntil moves a quiet clock forward, and never past an event it has not fired', () => {
    const world = new World({ seed: 1 });
    world.runUntil(5_000_000);
    expect(world.nowUs).toBe(5_000_000);
    world.at(6_000_000, () => {});
    expect(() => world.scheduler.advanceTo(7_000_000)).toThrow(/skip an event/);
    world.runUntil(7_000_000);
    expect(world.nowUs).toBe(7_000_000);
  });
});
