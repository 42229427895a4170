/**
 * An ACK of data not yet sent (SEG.ACK > SND.NXT), state by state, as Linux 6.18 answers it:
 * RFC 9293 §3.10.7.4's fifth check in the synchronized states (a challenge ACK, rate-limited, the
 * segment dropped), a reset in SYN-RECEIVED (tcp_check_req → the listener's
 * tcp_rcv_state_process) and in SYN-SENT (§3.10.7.3, tcp_rcv_synsent_state_process). Driven by a
 * scripted peer, so the bad ACK can be anything. The ESTABLISHED and SYN-RECEIVED sequences were
 * checked on this machine's Linux 6.18.44 with packetdrill (built from google/packetdrill, run in a
 * private namespace): the same segments, times and silences.
 */
import { describe, expect, it } from 'vitest';
import { parseIpv4 } from '../net/address.js';
import { ACK, FIN, RST, SYN, tcpdumpFlags } from '../tcp/segment.js';
import { World } from '../world/world.js';

const HOST_IP = parseIpv4('10.0.0.1');
const PEER_IP = parseIpv4('10.0.0.2');
/** The host's ISN: its SYN,ACK is 5000, so SND.NXT is 5001 once ESTABLISHED. */
const ISS = 5000;

function listening() {
  const world = new World({ seed: 1, stack: { isn: { kind: 'fixed', value: ISS }, timestamps: 0 } });
  const host = world.addHost('host', { ip: HOST_IP });
  const peer = world.attachPeer('peer', PEER_IP);
  const fd = host.socket();
  host.bind(fd, 8080);
  host.listen(fd, 1);
  const base = { srcPort: 40000, dstIp: HOST_IP, dstPort: 8080, window: 65535 };
  const seen: string[] = [];
  peer.onSegment((seg) => seen.push(`${(world.nowUs / 1000).toFixed(0)}ms [${tcpdumpFlags(seg.flags)}] seq ${seg.seq} ack ${seg.ack}${seg.payload.length > 0 ? ` len ${seg.payload.length}` : ''}`));
  return { world, host, peer, base, seen, fd };
}

describe('an ACK above SND.NXT (Linux tcp_ack: after(ack, tp->snd_nxt))', () => {
  it('ESTABLISHED: a challenge ACK, the segment dropped (its FIN too), the connection goes on; a second within 500 ms is not answered', () => {
    // Arrange: a connection the peer opened; accept it.
    const { world, host, peer, base, seen, fd } = listening();
    peer.sendAt(0, { ...base, seq: 0, ack: 0, flags: SYN, mss: 1460 });
    peer.sendAt(1_000, { ...base, seq: 1, ack: ISS + 1, flags: ACK });
    world.runUntil(2_000);
    const child = host.accept(fd);
    expect(child.ok).toBe(true);
    const conn = child.ok ? child.value : -1;
    // Act: a FIN whose ACK is far above SND.NXT, another 100 ms later, then good data.
    peer.sendAt(10_000, { ...base, seq: 1, ack: ISS + 9999, flags: FIN | ACK });
    peer.sendAt(110_000, { ...base, seq: 1, ack: ISS + 9999, flags: FIN | ACK });
    peer.sendAt(200_000, { ...base, seq: 1, ack: ISS + 1, flags: ACK, payload: new Uint8Array(100) });
    world.runUntil(300_000);
    // Assert: one challenge ACK at RCV.NXT 1 (the FIN was not taken: no CLOSE-WAIT, no EOF),
    // none for the second (tcp_invalid_ratelimit), then the data is ACKed as usual (quick ACK).
    expect(seen).toEqual(['0ms [S.] seq 5000 ack 1', '10ms [.] seq 5001 ack 1', '200ms [.] seq 5001 ack 101']);
    const read = host.recv(conn, 1000);
    expect(read.ok && read.value.length).toBe(100);
    expect([...host.liveTcbs()].map((tcb) => tcb.state)).toEqual(['ESTABLISHED']);
  });

  it('SYN-RECEIVED: <SEQ=SEG.ACK><CTL=RST>, and the half-open connection stays: the right ACK then completes the handshake', () => {
    // Arrange
    const { world, host, peer, base, seen, fd } = listening();
    peer.sendAt(0, { ...base, seq: 0, ack: 0, flags: SYN, mss: 1460 });
    // Act: the third segment acks 100 bytes never sent; then the right ACK.
    peer.sendAt(1_000, { ...base, seq: 1, ack: ISS + 101, flags: ACK });
    peer.sendAt(2_000, { ...base, seq: 1, ack: ISS + 1, flags: ACK });
    world.runUntil(3_000);
    // Assert: Linux tcp_check_req returns the listener, whose tcp_rcv_state_process answers an
    // ACK with tcp_v4_send_reset: RST alone, seq = the bad ACK; the request is kept.
    expect(seen).toEqual(['0ms [S.] seq 5000 ack 1', '1ms [R] seq 5101 ack 0']);
    expect(host.accept(fd).ok).toBe(true);
  });

  it('SYN-SENT: a SYN,ACK acking beyond the SYN gets <SEQ=SEG.ACK><CTL=RST> and connect() keeps waiting for the right one', () => {
    // Arrange: the host connects to the peer.
    const world = new World({ seed: 1, stack: { isn: { kind: 'fixed', value: ISS }, timestamps: 0 } });
    const host = world.addHost('host', { ip: HOST_IP });
    const peer = world.attachPeer('peer', PEER_IP);
    const seen: string[] = [];
    peer.onSegment((seg) => seen.push(`${(world.nowUs / 1000).toFixed(0)}ms [${tcpdumpFlags(seg.flags)}] seq ${seg.seq} ack ${seg.ack}`));
    const fd = host.socket();
    host.setNonBlocking(fd, true);
    host.bind(fd, 40000);
    // Act: the SYN goes out at 0; a SYN,ACK acking ISS + 2, then one acking ISS + 1.
    const started = host.connect(fd, PEER_IP, 9000);
    const base = { srcPort: 9000, dstIp: HOST_IP, dstPort: 40000, window: 65535 };
    peer.sendAt(1_000, { ...base, seq: 700, ack: ISS + 2, flags: SYN | ACK, mss: 1460 });
    peer.sendAt(2_000, { ...base, seq: 700, ack: ISS + 1, flags: SYN | ACK, mss: 1460 });
    world.runUntil(3_000);
    // Assert (RFC 9293 §3.10.7.3 first check; Linux tcp_rcv_synsent_state_process reset_and_undo)
    expect(started.ok || started.errno).not.toBe('ECONNREFUSED');
    expect(seen).toEqual(['0ms [S] seq 5000 ack 0', '1ms [R] seq 5002 ack 0', '2ms [.] seq 5001 ack 701']);
  });
});
