import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodeReport, encodeReport } from '../../node/gossip/report.ts';
import { cpuPctBetween, HostSampler, parseProcNetDev, ratePerS } from '../../node/gossip/sampler.ts';
import { makeReport } from './fixtures.ts';

const procNetDev = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:  151145    1980    0    0    0     0          0         0   151145    1980    0    0    0     0       0          0
  eth0: 368110449   10242    0    0    0     0          0         0   898298    7068    0    0    0     0       0          0
  wlan0:     100       1    0    0    0     0          0         0      200       2    0    0    0     0       0          0
`;

describe('host sampler: pure pieces', () => {
  it('sums non-loopback interfaces from /proc/net/dev', () => {
    assert.deepEqual(parseProcNetDev(procNetDev), { rxBytes: 368110549, txBytes: 898498, loopbackOnly: false });
  });

  it('falls back to loopback when it is the only interface, and says so', () => {
    const loOnly = procNetDev.split('\n').filter((l) => !l.includes('eth0') && !l.includes('wlan0')).join('\n');
    assert.deepEqual(parseProcNetDev(loOnly), { rxBytes: 151145, txBytes: 151145, loopbackOnly: true });
  });

  it('skips malformed lines', () => {
    assert.deepEqual(parseProcNetDev('eth0: 1 2 3\nbogus\n'), { rxBytes: 0, txBytes: 0, loopbackOnly: true });
  });

  it('computes cpu % and rates, 0 when there is nothing to compare', () => {
    const table: Array<[string, number, number]> = [
      ['half busy', cpuPctBetween({ idleMs: 100, totalMs: 200 }, { idleMs: 150, totalMs: 300 }), 50],
      ['no time passed', cpuPctBetween({ idleMs: 100, totalMs: 200 }, { idleMs: 100, totalMs: 200 }), 0],
      ['counters went back', cpuPctBetween({ idleMs: 100, totalMs: 200 }, { idleMs: 50, totalMs: 100 }), 0],
      ['one second', ratePerS(1000, 3000, 1000), 2000],
      ['half a second', ratePerS(1000, 3000, 500), 4000],
      ['first sample', ratePerS(undefined, 3000, 0), 0],
      ['counter reset', ratePerS(5000, 10, 1000), 0],
    ];
    for (const [name, actual, expected] of table) assert.equal(actual, expected, name);
  });
});

describe('host sampler on this machine', () => {
  it('gives sane figures, with rates 0 on the first sample and measured on the next', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'ottmesh-sampler-'));
    try {
      const sampler = new HostSampler({ dataDir });
      const first = await sampler.sample();
      assert.equal(first.cpuPct, 0);
      assert.equal(first.netRxBytesPerS, 0);
      assert.equal(first.netTxBytesPerS, 0);
      const busyUntil = performance.now() + 150;
      while (performance.now() < busyUntil) Math.sqrt(Math.random()); // give the cpu figure something to see
      const second = await sampler.sample();
      for (const sample of [first, second]) {
        assert.ok(sample.cpuPct >= 0 && sample.cpuPct <= 100);
        assert.ok(sample.load1 >= 0 && sample.load5 >= 0 && sample.load15 >= 0);
        assert.ok(sample.memTotalBytes > 64 * 2 ** 20);
        assert.ok(sample.memUsedBytes > 0 && sample.memUsedBytes <= sample.memTotalBytes);
        assert.ok(sample.memPct > 0 && sample.memPct <= 100);
        assert.ok(sample.diskFreeBytes > 0);
        assert.ok(sample.rssBytes > 10 * 2 ** 20 && sample.rssBytes < 2 ** 32);
        assert.ok(Number.isFinite(sample.netRxBytesPerS) && sample.netRxBytesPerS >= 0);
        assert.ok(Number.isFinite(sample.netTxBytesPerS) && sample.netTxBytesPerS >= 0);
        // Whatever the sampler measures is a valid report.
        assert.ok(decodeReport(encodeReport(makeReport('me', 1, sample))).ok);
      }
      assert.ok(second.cpuPct > 0, `a busy loop of 150 ms shows as cpu, got ${second.cpuPct}`);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('reports network rates as 0 where /proc/net/dev does not exist', async () => {
    const sampler = new HostSampler({ dataDir: tmpdir(), procNetDevPath: '/nonexistent/net/dev' });
    await sampler.sample();
    const second = await sampler.sample();
    assert.equal(second.netRxBytesPerS, 0);
    assert.equal(second.netTxBytesPerS, 0);
  });

  it('rejects when the data dir is gone (the service then sends its previous figures)', async () => {
    const sampler = new HostSampler({ dataDir: join(tmpdir(), 'ottmesh-no-such-dir-', String(process.pid)) });
    await assert.rejects(sampler.sample(), /ENOENT/);
  });
});
