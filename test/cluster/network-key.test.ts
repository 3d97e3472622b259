// A node holding another network key cannot connect to the cluster at all: `ottmesh join` with
// a token whose networkKey was replaced by another valid key gives up after its join timeout
// (OTTMESH_JOIN_TIMEOUT_S, set to 8 s here; 60 s by default) with one clear line.
//
// The other half of "a peer without the network key or membership cannot connect": a libp2p
// host with the right network key that is not a member cannot deliver Raft messages, and is cut
// off after its join window. That is covered at the host level in test/p2p/gating.test.ts
// ('a non-member can ask to join, cannot deliver raft messages, ...'), and the wrong key at the
// host level in test/p2p/host.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeNetworkKey, generateNetworkKey } from '../../node/p2p/index.ts';
import { assertRefused, joinArgs, payloadOf, tamper } from './join-helpers.ts';
import { readStoredState } from './replicated-state.ts';
import { buildCluster, report, withCluster } from './scenario.ts';

/** The joining node gives up after this (OTTMESH_JOIN_TIMEOUT_S); the refusal must come well before the test's bound. */
const joinTimeoutS = 8;
const joinGivesUpWithinMs = 25_000;

test('a token with another network key: join cannot connect and gives up with a clear message', { timeout: 60_000 }, async (t) => {
  process.env['OTTMESH_JOIN_TIMEOUT_S'] = String(joinTimeoutS); // inherited by the spawned node
  await withCluster('ottmesh-netkey-', async (cluster) => {
    const built = await buildCluster(cluster, ['n1']);
    const good = await cluster.createToken('n1');
    const otherKey = tamper(good, 'networkKey', encodeNetworkKey(generateNetworkKey()));
    const res = await cluster.run(joinArgs(cluster, otherKey, 'other-key'), { timeoutMs: joinGivesUpWithinMs });
    assertRefused(cluster, 'other-key', res, /could not join within \d+ s: could not connect .*same network key/);
    report(t, `a token with another network key: join gave up after ${res.ms} ms`);
    assert.equal((await cluster.clusterView('n1', built.admin, 5000))?.nodes.length, 1, 'no node was added');

    await cluster.kill('n1', 'SIGTERM');
    const stored = (await readStoredState(cluster.nodes.get('n1')!.dataDir)).state;
    assert.equal(stored.joinTokens[payloadOf(good).tokenId]?.usesLeft, 1, 'the token was not used');
  });
});
