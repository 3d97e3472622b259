import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keepMallocArenaSettingToOurselves, mallocArenaMarker, mallocArenaVariable, reexecWithOneMallocArena } from '../../node/malloc-arenas.ts';

test("ottmesh's own MALLOC_ARENA_MAX is not passed on to children (ffmpeg); an operator's is", () => {
  const saved = { ...process.env };
  try {
    process.env[mallocArenaVariable] = '1';
    process.env[mallocArenaMarker] = '1';
    keepMallocArenaSettingToOurselves();
    assert.equal(process.env[mallocArenaVariable], undefined);
    assert.equal(process.env[mallocArenaMarker], undefined);
    process.env[mallocArenaVariable] = '4';
    keepMallocArenaSettingToOurselves();
    assert.equal(process.env[mallocArenaVariable], '4');
  } finally {
    for (const k of [mallocArenaVariable, mallocArenaMarker]) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
});

test('only the single executable re-executes itself (a node run on Node with a script does not)', () => {
  reexecWithOneMallocArena(); // returns: this test process is not a single executable
});

test("bin/ottmesh sets one arena with the marker, unless the operator set MALLOC_ARENA_MAX", async () => {
  const { execFileSync } = await import('node:child_process');
  const bin = new URL('../../bin/ottmesh', import.meta.url).pathname;
  // The wrapper's own line, run alone.
  const line = `source <(grep '^if \\[ -z "\\\${MALLOC_ARENA_MAX' "${bin}"); echo "$MALLOC_ARENA_MAX/\${OTTMESH_SET_MALLOC_ARENA_MAX:-}"`;
  const run = (extra: Record<string, string>) => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
    if (!(mallocArenaVariable in extra)) delete env[mallocArenaVariable];
    delete env[mallocArenaMarker];
    return execFileSync('bash', ['-c', line], { env, encoding: 'utf8' }).trim();
  };
  assert.equal(run({}), '1/1');
  assert.equal(run({ [mallocArenaVariable]: '4' }), '4/');
});
