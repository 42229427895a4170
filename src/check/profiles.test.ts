import { describe, expect, it } from 'vitest';
import { describeMonitors } from './index.js';
import { MONITOR_PROFILES, monitorInProfile } from './profiles.js';

describe('monitor profiles', () => {
  it('give every monitor a profile and a reason', () => {
    for (const m of describeMonitors()) expect(MONITOR_PROFILES[m.name], `${m.name} has no profile in src/check/profiles.ts`).toBeDefined();
  });

  it('apply every monitor under linux and only the RFC ones under rfc', () => {
    expect(monitorInProfile('close-shape', 'linux')).toBe(true);
    expect(monitorInProfile('close-shape', 'rfc')).toBe(false);
    expect(monitorInProfile('bind-in-use', 'rfc')).toBe(false);
    expect(monitorInProfile('syn-ack', 'rfc')).toBe(true);
    expect(monitorInProfile('a-monitor-nobody-classified', 'rfc')).toBe(false);
  });
});
