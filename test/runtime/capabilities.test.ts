import { describe, expect, it } from 'vitest';
import { capabilitiesInStatus } from '../../src/runtime/capabilities.js';
import { DEFAULT_CAPABILITIES } from '../../src/runtime/oci-spec.js';

const ALL_41 = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];

describe('capabilitiesInStatus', () => {
  const status = (line: string): string => `Name:\ttsbuild\nCapInh:\t0000000000000000\n${line}\nCapBnd:\t000001ffffffffff\n`;

  it.each([
    ['every capability of Linux 5.9+', 'CapEff:\t000001ffffffffff', ALL_41],
    // A VM whose init dropped CAP_SYS_RESOURCE (bit 24): this project's own machine.
    ['all but CAP_SYS_RESOURCE', 'CapEff:\t000001fffeffffff', ALL_41.filter((c) => c !== 'CAP_SYS_RESOURCE')],
    ['Docker’s default set, in number order', 'CapEff:\t00000000a80425fb', ALL_41.filter((c) => DEFAULT_CAPABILITIES.includes(c))],
    ['none', 'CapEff:\t0000000000000000', []],
    ['bits newer than the list are left out', 'CapEff:\tffffffffffffffff', ALL_41],
  ])('%s', (_label, line, expected) => {
    expect(capabilitiesInStatus(status(line), 'CapEff')).toEqual(expected);
  });

  it('reads the set asked for', () => {
    expect(capabilitiesInStatus(status('CapEff:\t0000000000000001'), 'CapBnd')).toEqual(ALL_41);
    expect(capabilitiesInStatus(status('CapEff:\t0000000000000001'), 'CapEff')).toEqual(['CAP_CHOWN']);
  });

  it.each([
    ['no such line', 'CapPrm:\t0000000000000001'],
    ['not hexadecimal', 'CapEff:\tall'],
    ['too long', 'CapEff:\t00000000000000000001'],
  ])('gives undefined for %s', (_label, line) => {
    expect(capabilitiesInStatus(`Name:\tx\n${line}\n`, 'CapEff')).toBeUndefined();
  });
});
