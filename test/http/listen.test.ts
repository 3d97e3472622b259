// listen(): one-line errors an operator can act on.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';

import { buildServer, listen, PortInUseError } from '../../node/http/index.ts';
import type { HttpServer } from '../../node/http/index.ts';
import { FakeApi } from './fake-api.ts';

const servers: HttpServer[] = [];
after(() => Promise.all(servers.map((app) => app.close())));

test('listen: a port in use is a one-line error naming it and what to do', async () => {
  const api = new FakeApi('p1', 'alpha');
  const first = buildServer({ api });
  servers.push(first);
  const { port } = await listen(first, '127.0.0.1', 0);
  const second = buildServer({ api });
  servers.push(second);
  await assert.rejects(listen(second, '127.0.0.1', port), (err: Error) =>
    err instanceof PortInUseError && err.message === `port ${port} on 127.0.0.1 is already in use: stop the program using it, or pick another port with --http-port`);
});
