import { describe, expect, it } from 'vitest';
import { procNetAddress, unacknowledgedBytes } from './unread-answers.js';

describe('core > serve > unread answers', () => {
  it('writes addresses as /proc/net/tcp and tcp6 do: each 32-bit word in little-endian byte order', () => {
    expect(procNetAddress('127.0.0.1')).toBe('0100007F');
    expect(procNetAddress('10.1.2.3')).toBe('0302010A');
    expect(procNetAddress('::1')).toBe('00000000000000000000000001000000');
    expect(procNetAddress('::ffff:127.0.0.1')).toBe('0000000000000000FFFF00000100007F');
    expect(procNetAddress('2001:db8::8a2e:370:7334')).toBe('B80D0120000000002E8A000034737003');
    expect(procNetAddress('fe80::1%eth0')).toBe('000080FE000000000000000001000000');
    for (const bad of ['', 'localhost', '1::2::3', '1:2:3:4:5:6:7', '12345::1']) expect(procNetAddress(bad)).toBeUndefined();
  });

  it("reads each connection's unacknowledged bytes to one local port, keyed by the peer's address and port", () => {
    const tcp = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:4650 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0',
      '   1: 0100007F:4650 0100007F:D6E4 01 00069202:00000000 04:000000E0 00000000     0        0 2 1 0 20 4 30 10 -1',
      '   2: 0100007F:4650 0100007F:D6E4 06 00000000:00000000 03:00001000 00000000     0        0 0 3 0',
      '   3: 0100007F:4650 0100007F:D6F0 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0 20 4 30 10 -1',
      '   4: 0100007F:1F90 0100007F:D700 01 0000FFFF:00000000 00:00000000 00000000     0        0 4 1 0 20 4 30 10 -1',
    ].join('\n');
    const tcp6 = '   0: 0000000000000000FFFF00000100007F:4650 0000000000000000FFFF00000100007F:D710 01 00000010:00000000 00:00000000 00000000 0 0 5 1';
    const queues = unacknowledgedBytes(tcp6, 0x4650, unacknowledgedBytes(tcp, 0x4650));
    expect(Object.fromEntries(queues)).toEqual({
      '0100007F:55012': 0x69202,
      '0100007F:55024': 0,
      '0000000000000000FFFF00000100007F:55056': 16,
    });
  });
});
