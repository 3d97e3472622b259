// The network faults the chaos suite injects, on a real NetnsLab (test/cluster/netns.ts; root
// only, skipped elsewhere with the reason): a blackhole route drops what one host sends to
// another and nothing else (one-way), a LinkSwitch's short cuts drop about the share of packets
// they cover, and a lab attached from its description is controlled without being owned.
// Packets are counted with a UDP sender and receiver (node:dgram) run inside the namespaces.
import assert from 'node:assert/strict';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { NetnsLab, netnsUnavailable, removeLeftovers } from '../cluster/netns.ts';

const unavailable = await netnsUnavailable();

/** Sends `count` datagrams, one every 10 ms, to addr:9999 (send), or counts what arrives for
 *  `ms` (recv) and prints the count. */
const udpScript = `
import dgram from 'node:dgram';
const [mode, addr, arg] = process.argv.slice(2);
const s = dgram.createSocket('udp4');
if (mode === 'recv') {
  let n = 0;
  s.on('message', () => n++);
  s.bind(9999, addr, () => console.log('ready'));
  setTimeout(() => { console.log(n); process.exit(0); }, Number(arg));
} else {
  let i = 0;
  const t = setInterval(() => { s.send('x', 9999, addr, () => {}); if (++i >= Number(arg)) { clearInterval(t); setTimeout(() => process.exit(0), 50); } }, 10);
}`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Datagrams host `from` got through to `to` out of `count` while `during` ran. */
async function delivered(lab: NetnsLab, script: string, from: string, to: string, count: number, during: () => Promise<void> = async () => undefined): Promise<number> {
  const toAddr = lab.hosts.get(to)!.host;
  const recv = lab.execIn(to, [process.execPath, script, 'recv', toAddr, String(count * 10 + 1500)], 30_000);
  await sleep(700); // the receiver binds
  const send = lab.execIn(from, [process.execPath, script, 'send', toAddr, String(count)], 30_000);
  await during();
  await send;
  const out = await recv;
  assert.equal(out.code, 0, out.stderr);
  return Number(out.stdout.trim().split('\n').at(-1));
}

test('blackhole routes, link cuts and an attached lab', { timeout: 120_000, skip: unavailable ?? false }, async () => {
  await removeLeftovers();
  const dir = await mkdtemp(join(tmpdir(), 'ottmesh-netns-faults-'));
  const script = join(dir, 'udp.mjs');
  await writeFile(script, udpScript);
  const lab = new NetnsLab();
  try {
    await lab.start();
    await lab.addHost('a');
    const b = await lab.addHost('b', { octet: 77 });
    assert.equal(b.host, '10.231.1.77');
    await assert.rejects(lab.addHost('c', { octet: 77 }), /10\.231\.1\.77 is taken/);
    await assert.rejects(lab.addHost('d', { octet: 300 }), /octet must be 2-254/);
    assert.equal(await delivered(lab, script, 'a', 'b', 50), 50, 'nothing dropped before any fault');

    // One-way: a drops what it sends to b; b still reaches a.
    const a = lab.hosts.get('a')!.host;
    await lab.blackhole('a', b.host);
    assert.deepEqual(await lab.blackholes('a'), [b.host]);
    assert.equal(await delivered(lab, script, 'a', 'b', 30), 0, 'a -> b dropped');
    assert.equal(await delivered(lab, script, 'b', 'a', 30), 30, 'b -> a passes');
    await lab.unblackhole('a', b.host);
    assert.deepEqual(await lab.blackholes('a'), []);
    assert.equal(await delivered(lab, script, 'a', 'b', 30), 30, 'healed');

    // An attached lab controls the same namespaces and removes nothing at destroy().
    const attached = NetnsLab.attach(JSON.parse(JSON.stringify(lab.describe())) as ReturnType<NetnsLab['describe']>);
    assert.deepEqual([...attached.hosts.keys()], ['a', 'b']);
    await attached.blackhole('b', a);
    assert.deepEqual(await lab.blackholes('b'), [a]);
    await attached.unblackhole('b', a);
    await attached.destroy();
    assert.equal((await lab.execIn('b', ['true'])).code, 0, 'the namespaces outlive the attached lab');

    // Loss: 5 cuts of 100 ms during 300 datagrams sent over 3 s drop about 50 of them.
    const link = attached.linkSwitch();
    const got = await delivered(lab, script, 'a', 'b', 300, async () => {
      await sleep(800);
      for (let i = 0; i < 5; i++) {
        link.set('b', false);
        await sleep(100);
        link.set('b', true);
        await sleep(100);
      }
    });
    assert.equal(await link.close(), '');
    assert.ok(got >= 220 && got <= 280, `${got} of 300 delivered with 500 ms of 3 s cut`);
  } finally {
    await lab.destroy();
    await rm(dir, { recursive: true, force: true });
  }
});
