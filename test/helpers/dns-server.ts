/**
 * A tiny authoritative DNS server over UDP for tests: answers A queries for the names it is given,
 * NXDOMAIN for other names, and an empty answer for other record types of its names (AAAA). Lets
 * a test prove which resolver a query reached without depending on real DNS.
 */
import dgram from 'node:dgram';

export interface DnsServer {
  /** Queries answered so far, as `name type`. */
  readonly queries: string[];
  close(): Promise<void>;
}

/** Serves `records` (name → IPv4 address) on `address`:`port`. */
export async function startDnsServer(address: string, port: number, records: Record<string, string>): Promise<DnsServer> {
  const socket = dgram.createSocket('udp4');
  const queries: string[] = [];
  socket.on('message', (query, peer) => {
    const question = readQuestion(query);
    if (!question) return;
    queries.push(`${question.name} ${question.type}`);
    const known = records[question.name.toLowerCase()];
    const answer = known !== undefined && question.type === 1 ? [answerA(known)] : [];
    const header = Buffer.alloc(12);
    header.writeUInt16BE(query.readUInt16BE(0), 0);
    // QR, the client's RD, RA; NXDOMAIN for names it does not know.
    header.writeUInt16BE(0x8080 | (query.readUInt16BE(2) & 0x0100) | (known === undefined ? 3 : 0), 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answer.length, 6);
    socket.send(Buffer.concat([header, query.subarray(12, question.end), ...answer]), peer.port, peer.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, address, () => resolve());
  });
  return { queries, close: () => new Promise((resolve) => socket.close(() => resolve())) };
}

/** The first question's name and type, and where it ends; undefined for a malformed query. */
function readQuestion(query: Buffer): { name: string; type: number; end: number } | undefined {
  const labels: string[] = [];
  let at = 12;
  while (at < query.length) {
    const length = query[at] ?? 0;
    if (length === 0) break;
    if (length > 63) return undefined;
    labels.push(query.subarray(at + 1, at + 1 + length).toString('latin1'));
    at += 1 + length;
  }
  if (at + 5 > query.length) return undefined;
  return { name: labels.join('.'), type: query.readUInt16BE(at + 1), end: at + 5 };
}

/** An A record for the question's name (a pointer to offset 12), TTL 60. */
function answerA(ipv4: string): Buffer {
  const record = Buffer.alloc(16);
  record.writeUInt16BE(0xc00c, 0);
  record.writeUInt16BE(1, 2);
  record.writeUInt16BE(1, 4);
  record.writeUInt32BE(60, 6);
  record.writeUInt16BE(4, 10);
  ipv4.split('.').forEach((octet, i) => record.writeUInt8(Number(octet), 12 + i));
  return record;
}
