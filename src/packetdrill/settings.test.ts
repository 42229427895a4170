/**
 * Commands in packetdrill scripts (settings.ts): what the simulator can honour is taken, the rest
 * is refused by name. Commands written here.
 */
import { describe, expect, it } from 'vitest';
import { applyCommand, newSettings } from './settings.js';

describe('packetdrill commands', () => {
  it('takes `ip link set tun0 gso_max_segs 1` (the simulator has no GSO) and says so; refuses other GSO settings', () => {
    const settings = newSettings();
    expect(applyCommand(settings, 'ip link set tun0 gso_max_segs 1')).toBeNull();
    expect(settings.notes.at(-1)).toBe('`ip link set tun0 gso_max_segs 1`: what the simulator models already (no GSO: skbs of one MSS)');
    expect(applyCommand(newSettings(), 'ip link set tun0 gso_max_segs 4')).toBe('command `ip link set tun0 gso_max_segs 4` not runnable in the simulator');
  });

  it('maps a sysctl to a stack setting and refuses one it does not model', () => {
    const settings = newSettings();
    expect(applyCommand(settings, 'sysctl -q net.ipv4.tcp_sack=1')).toBeNull();
    expect(settings.stack.sack).toBe(true);
    expect(applyCommand(newSettings(), 'sysctl -q net.ipv4.tcp_no_such_thing=1')).toBe('sysctl tcp_no_such_thing not modelled');
  });
});
