// The one-line install (docs/install.md), served by every node without authentication (nothing
// here is secret: the executable is the same on every node; the join token is what admits):
//   GET /install.sh               the installer, with this node's URL (from the request) and the
//                                 executable's sha256 baked in
//   GET /download/ottmesh         the executable (application/octet-stream, Content-Length)
//   GET /download/ottmesh.sha256  `<hex>  ottmesh\n` (sha256sum's format)
// They live outside /api/v1, where the auth hook does not look; `public: true` says so as well.
import type { FastifyPluginAsync } from 'fastify';
import { open } from 'node:fs/promises';

import { executableFile, noExecutableMessage, servedExecutablePath, Sha256Cache } from '../../install/executable-file.ts';
import type { ExecutableFile } from '../../install/executable-file.ts';
import { badHostMessage, installBaseUrl, renderInstallScript, renderUnavailableScript } from '../../install/install-script.ts';
import { ApiError } from '../errors.ts';

export interface InstallRoutesInit {
  /** Where the executable to serve is; default servedExecutablePath() (tests give a file). */
  readonly executablePath?: () => string;
}

export const installRoutes: FastifyPluginAsync<InstallRoutesInit> = async (app, init) => {
  const locate = init.executablePath ?? servedExecutablePath;
  const hashes = new Sha256Cache();
  const current = async (): Promise<ExecutableFile | null> => executableFile(locate());
  const routeConfig = { config: { public: true }, schema: { hide: true } } as const;

  app.get('/install.sh', routeConfig, async (request, reply) => {
    const baseUrl = installBaseUrl(request.protocol, request.headers.host);
    if (baseUrl === null) throw new ApiError(400, badHostMessage);
    const file = await current();
    // Without an executable the answer is still a script (200): piped into sh, a 404 would show
    // only curl's status line, and this says what to do.
    const script = file === null ? renderUnavailableScript(noExecutableMessage) : renderInstallScript({ baseUrl, sha256: await hashes.of(file) });
    return reply.header('content-type', 'text/x-shellscript; charset=utf-8').header('cache-control', 'no-store').send(script);
  });

  app.get('/download/ottmesh.sha256', routeConfig, async (_request, reply) => {
    const file = await current();
    if (file === null) throw new ApiError(404, noExecutableMessage);
    return reply.header('content-type', 'text/plain; charset=utf-8').header('cache-control', 'no-store').send(`${await hashes.of(file)}  ottmesh\n`);
  });

  app.route({
    method: ['GET', 'HEAD'], url: '/download/ottmesh', ...routeConfig,
    handler: async (request, reply) => {
      const path = locate();
      // Open, then stat the open file: a rebuild that renames a new file into place meanwhile
      // cannot make the length and the bytes disagree.
      const handle = await open(path, 'r').catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT' || err.code === 'ENOTDIR') throw new ApiError(404, noExecutableMessage);
        throw err;
      });
      let sizeBytes: number;
      try {
        const st = await handle.stat();
        if (!st.isFile()) throw new ApiError(404, noExecutableMessage);
        sizeBytes = st.size;
      } catch (err) {
        await handle.close();
        throw err;
      }
      void reply.header('content-type', 'application/octet-stream').header('content-length', String(sizeBytes))
        .header('content-disposition', 'attachment; filename="ottmesh"').header('cache-control', 'no-store');
      if (request.method === 'HEAD') {
        await handle.close();
        return reply.send();
      }
      return reply.send(handle.createReadStream());
    },
  });
};
