/**
 * EXPOSE checks: a protocol must be lowercase (`80/tcp`, not `80/TCP`), and an IP address or a
 * host port (`127.0.0.1:8080:80`) has no meaning in an image. Ports are split as BuildKit's
 * `parsePort` splits them; a port it cannot read is the planner's error, not a finding.
 */
import type { Linter, LintLocation } from './linter.js';
import { ExposeInvalidFormat, ExposeProtoCasing } from './rules.js';

/** `[ip:][hostPort:]containerPort[/proto]` → its parts (IPv6 addresses keep their colons). */
function splitParts(port: string): { ip: string; hostPort: string; containerPort: string } {
  const parts = port.split(':');
  const n = parts.length;
  if (n === 1) return { ip: '', hostPort: '', containerPort: parts[0] ?? '' };
  return { ip: parts.slice(0, n - 2).join(':'), hostPort: parts[n - 2] ?? '', containerPort: parts[n - 1] ?? '' };
}

/** Reports the findings for the (expanded) ports of one EXPOSE. */
export function checkExposedPorts(ports: readonly string[], location: LintLocation, linter: Linter): void {
  for (const raw of ports) {
    const { ip, hostPort, containerPort } = splitParts(raw);
    const slash = containerPort.indexOf('/');
    const port = slash < 0 ? containerPort : containerPort.slice(0, slash);
    const proto = slash < 0 ? '' : containerPort.slice(slash + 1);
    if (port === '' || !['', 'tcp', 'udp', 'sctp'].includes(proto.toLowerCase())) continue;
    if (proto !== proto.toLowerCase()) linter.report(ExposeProtoCasing, location, ExposeProtoCasing.message(raw));
    if (ip !== '' || hostPort !== '') linter.report(ExposeInvalidFormat, location, ExposeInvalidFormat.message(raw));
  }
}
