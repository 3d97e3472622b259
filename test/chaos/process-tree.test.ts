// Reading a process tree from /proc's stat lines (scripts/chaos/process-tree.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parentPidOfStat, treeOf } from '../../scripts/chaos/process-tree.ts';

test('parentPidOfStat reads the 4th field, whatever the command name holds', () => {
  assert.equal(parentPidOfStat('1234 (node) S 1200 1234 1200 0 -1 4194560'), 1200);
  assert.equal(parentPidOfStat('77 (a b) c) (d) R 5 77 5 0'), 5);
  assert.equal(parentPidOfStat('garbage'), null);
});

test('treeOf lists the root, then its children and grandchildren, and nothing else', () => {
  const parents = new Map([[10, 1], [11, 10], [12, 10], [13, 11], [20, 1], [21, 20]]);
  assert.deepEqual(treeOf(10, parents), [10, 11, 12, 13]);
  assert.deepEqual(treeOf(21, parents), [21]);
  assert.deepEqual(treeOf(99, parents), [99], 'a pid not in the table is still its own tree');
  assert.deepEqual(treeOf(10, new Map([[10, 11], [11, 10]])), [10, 11], 'a loop ends');
});
