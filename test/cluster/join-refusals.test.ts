// `ottmesh join` with a bad token, against real node processes on loopback: expired, used up,
// forged, garbage. Each is refused with one line that starts with "ottmesh:", exit code 1, no
// data dir left behind and nothing committed (the cluster's size and the tokens' uses).
// A token with another network key: network-key.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertRefused, joinArgs, payloadOf, tamper } from './join-helpers.ts';
import { readStoredState } from './replicated-state.ts';
import { buildCluster, nodeUpTimeoutMs, report, since, withCluster } from './scenario.ts';

/** Another valid secret (43 base64url characters), never the original. */
function otherSecret(secret: string): string {
  return secret.startsWith('A') ? `B${secret.slice(1)}` : `A${secret.slice(1)}`;
}

test('bad join tokens are refused with a one-line reason, and nothing is committed', { timeout: 90_000 }, async (t) => {
  await withCluster('ottmesh-refusals-', async (cluster) => {
    const built = await buildCluster(cluster, ['n1']);
    const count = async () => (await cluster.clusterView('n1', built.admin, 5000))?.nodes.length;
    assert.equal(await count(), 1);

    const expiring = await cluster.createToken('n1', ['--ttl', '1']);
    const expiringAt = performance.now();
    const once = await cluster.createToken('n1', ['--uses', '1']);
    const forgeable = await cluster.createToken('n1');

    const garbage = await cluster.run(joinArgs(cluster, 'this-is-not-a-token!', 'garbage'));
    assertRefused(cluster, 'garbage', garbage, /not a valid join token/);

    const forged = await cluster.run(joinArgs(cluster, tamper(forgeable, 'secret', otherSecret(payloadOf(forgeable).secret)), 'forged'));
    assertRefused(cluster, 'forged', forged, /refused this node: join token secret does not match/);
    assert.equal(await count(), 1, 'the forged token added no node');

    // The used-up token: its one use admits n2, the second attempt is refused.
    await cluster.join('n2', once);
    await cluster.waitPrinted('n2', /joined cluster/, nodeUpTimeoutMs);
    assert.equal(await count(), 2, 'n2 joined with the token\'s one use');
    const usedUp = await cluster.run(joinArgs(cluster, once, 'used-up'));
    assertRefused(cluster, 'used-up', usedUp, /refused this node: join token used up/);

    await new Promise((r) => setTimeout(r, Math.max(0, 1100 - since(expiringAt))));
    const expired = await cluster.run(joinArgs(cluster, expiring, 'expired'));
    assertRefused(cluster, 'expired', expired, /refused this node: join token expired at/);
    assert.equal(await count(), 2, 'no refused join added a node');
    report(t, `refusals took: garbage ${garbage.ms} ms, forged ${forged.ms} ms, used up ${usedUp.ms} ms, expired ${expired.ms} ms (each a whole ottmesh process)`);

    // Nothing committed: the refused tokens kept their uses, in the nodes' own Raft logs.
    await Promise.all(['n1', 'n2'].map((n) => cluster.kill(n, 'SIGTERM')));
    for (const name of ['n1', 'n2']) {
      const stored = (await readStoredState(cluster.nodes.get(name)!.dataDir)).state;
      assert.equal(Object.keys(stored.nodes).length, 2, `${name} stores 2 members`);
      assert.equal(stored.joinTokens[payloadOf(once).tokenId]?.usesLeft, 0, `${name}: the one-use token was used once`);
      for (const [what, token] of [['expired', expiring], ['forged', forgeable]] as const) {
        assert.equal(stored.joinTokens[payloadOf(token).tokenId]?.usesLeft, 1, `${name}: the ${what} attempt did not use its token`);
      }
    }
  });
});
