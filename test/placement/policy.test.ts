import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultPolicy, policyOverrideProblem, resolvePolicy } from '../../node/placement/index.ts';
import type { PolicyOverride } from '../../node/state/stream-types.ts';

test('defaults', () => {
  assert.deepEqual(defaultPolicy, {
    strategy: 'spread', groups: [], cpuCeilPct: 85, memCeilPct: 90, maxStreamsPerNode: 0, stickiness: 0.1, rebalanceMovesPerMin: 6, hotStandby: false,
  });
  assert.ok(Object.isFrozen(defaultPolicy));
  assert.deepEqual(resolvePolicy({}), defaultPolicy);
});

test('global -> service -> stream: a field set lower wins, an absent one inherits', () => {
  const p = resolvePolicy({ cpuCeilPct: 70, strategy: 'binpack' }, { cpuCeilPct: 60, groups: ['edge'] }, { hotStandby: true });
  assert.deepEqual(p, { ...defaultPolicy, strategy: 'binpack', cpuCeilPct: 60, groups: ['edge'], hotStandby: true });
  assert.equal(resolvePolicy({ groups: ['a'] }, null, { groups: [] }).groups.length, 0, 'an empty list is a value: any node');
  assert.equal(resolvePolicy({ stickiness: 0.5 }, undefined, null).stickiness, 0.5);
});

test('bad values are refused with a message naming the field', () => {
  const bad: Array<[unknown, RegExp]> = [
    [{ strategy: 'random' }, /strategy must be "spread" or "binpack"/],
    [{ cpuCeilPct: 0 }, /cpuCeilPct must be more than 0 and at most 100/],
    [{ memCeilPct: 120 }, /memCeilPct/],
    [{ maxStreamsPerNode: 1.5 }, /maxStreamsPerNode must be a whole number/],
    [{ stickiness: 2 }, /stickiness must be from 0 to 1/],
    [{ rebalanceMovesPerMin: -1 }, /rebalanceMovesPerMin/],
    [{ hotStandby: 'yes' }, /hotStandby must be true or false/],
    [{ groups: ['a', 'a'] }, /list a group twice/],
    [{ groups: ['bad name'] }, /policy groups/],
    [{ ceiling: 3 }, /policy has no field "ceiling"/],
  ];
  for (const [policy, message] of bad) assert.match(policyOverrideProblem(policy as PolicyOverride) ?? 'accepted', message, JSON.stringify(policy));
  assert.equal(policyOverrideProblem({}), null);
  assert.equal(policyOverrideProblem({ ...defaultPolicy, groups: ['edge', 'core'] }), null);
});
