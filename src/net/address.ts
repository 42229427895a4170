/** IPv4 addresses are plain uint32 numbers inside the simulator; strings only at the edges. */

export function parseIpv4(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4) throw new Error(`not an IPv4 address: "${text}"`);
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) throw new Error(`not an IPv4 address: "${text}"`);
    const octet = Number(part);
    if (octet > 255) throw new Error(`not an IPv4 address: "${text}"`);
    value = value * 256 + octet;
  }
  return value >>> 0;
}

export function formatIpv4(ip: number): string {
  return `${(ip >>> 24) & 255}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}

/** The `n`th address of the simulator's default subnet 10.0.0.0/16, starting at 10.0.0.1. */
export function hostIp(n: number): number {
  return (parseIpv4('10.0.0.0') + n + 1) >>> 0;
}
