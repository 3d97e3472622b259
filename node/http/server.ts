// The HTTP server every node runs: fastify with TypeBox schemas, one plugin per concern, one
// error handler. buildServer() does not listen; listen() does, with one-line errors.
import type { AddressInfo } from 'node:net';

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';

import { installErrorHandler } from './error-handler.ts';
import { AddressUnavailableError, PortInUseError } from './errors.ts';
import { clusterRoutes } from './routes/cluster.ts';
import { healthRoutes } from './routes/health.ts';
import { joinTokenRoutes } from './routes/join-tokens.ts';
import { nodeRoutes } from './routes/nodes.ts';
import { settingsRoutes } from './routes/settings.ts';
import { groupRoutes } from './routes/groups.ts';
import { policyRoutes } from './routes/policy.ts';
import { serviceRoutes } from './routes/services.ts';
import { streamRoutes } from './routes/streams.ts';
import { placementRoutes } from './routes/placement.ts';
import { streamLogRoutes } from './routes/stream-log.ts';
import { importRoutes } from './routes/import.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { sessionRoutes } from './routes/session.ts';
import { uiRoutes } from './routes/ui.ts';
import { troubleshootRoutes } from './routes/troubleshoot.ts';
import { lineRoutes } from './routes/lines.ts';
import { xtreamRoutes } from './routes/xtream.ts';
import { playlistRoutes } from './routes/playlists.ts';
import type { EpgView } from './routes/playlists.ts';
import { hlsViewerSessions } from '../hls/viewers-http.ts';
import type { TsRelayHub } from '../hls/ts-relay.ts';
import type { ViewerRegistry } from '../hls/viewers.ts';
import { userRoutes } from './routes/users.ts';
import { apiTokenRoutes } from './routes/api-tokens.ts';
import { auditRoutes } from './routes/audit.ts';
import { installRoutes } from './routes/install.ts';
import { sshInstallRoutes } from './routes/installs.ts';
import { installAuth } from './auth.ts';
import swagger from '@fastify/swagger';
import type { ClusterApi } from './service.ts';

/** Retry-After (seconds) on 503 answers that mean "not now". */
export const defaultRetryAfterS = 1;
/** Request bodies larger than this are refused with 413; the API's bodies are small. */
export const defaultBodyLimitBytes = 64 * 1024;
/** A request (headers and body) not received in full by then is dropped with its connection.
 *  Fastify's default is none, so a client that sent part of a body and stopped held its
 *  connection (and a socket) for as long as it liked. Long enough for the largest upload (a
 *  300 MB executable at 1 MB/s); SSE answers are not affected (it bounds receiving only). */
export const defaultRequestTimeoutMs = 10 * 60_000;
/** Node's own bound on receiving a request's headers. */
const headersTimeoutMs = 60_000;

export type HttpServer = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;

/** The node's IPTV parts (docs/iptv.md). */
export interface IptvParts {
  readonly viewers: ViewerRegistry;
  readonly relay: TsRelayHub;
  /** The EpgRefresher, as the routes read it. */
  readonly epg: EpgView;
}

export interface HttpServerComponents {
  readonly api: ClusterApi;
  /** Parts absent (tests): .ts URLs redirect to HLS, viewers are not counted, guides are empty. */
  readonly iptv?: Partial<IptvParts>;
  /** A pino logger (or any fastify-compatible one); default: no logging. */
  readonly logger?: FastifyBaseLogger;
}

export interface HttpServerInit {
  /** Default 64 KiB. */
  readonly bodyLimitBytes?: number;
  /** Retry-After on 503 answers (no leader, leadership changing). Default 1. */
  readonly retryAfterS?: number;
  /** Log a line per request (fastify's request logging). Default false. */
  readonly logRequests?: boolean;
  /** Default {@link defaultRequestTimeoutMs}. */
  readonly requestTimeoutMs?: number;
  /** How often Node looks for requests past their timeout (its default: 30 s; tests shorten it). */
  readonly timeoutCheckIntervalMs?: number;
}

export function buildServer(components: HttpServerComponents, init: HttpServerInit = {}): HttpServer {
  const retryAfterS = init.retryAfterS ?? defaultRetryAfterS;
  const bodyLimitBytes = init.bodyLimitBytes ?? defaultBodyLimitBytes;
  const requestTimeoutMs = init.requestTimeoutMs ?? defaultRequestTimeoutMs;
  const app = Fastify({
    ...(components.logger === undefined ? {} : { loggerInstance: components.logger }),
    logController: new LogController({ disableRequestLogging: !(init.logRequests ?? false) }),
    bodyLimit: bodyLimitBytes,
    requestTimeout: requestTimeoutMs,
    // Node swaps the two when the headers' timeout is the longer one (its default is 60 s).
    http: { headersTimeout: Math.min(headersTimeoutMs, requestTimeoutMs), ...(init.timeoutCheckIntervalMs === undefined ? {} : { connectionsCheckingInterval: init.timeoutCheckIntervalMs }) },
    // Unknown fields are refused (400 naming them) rather than silently dropped.
    ajv: { customOptions: { removeAdditional: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();
  installErrorHandler(app, { retryAfterS, bodyLimitBytes });
  const { api } = components;
  // Before any route: every /api/v1 route inherits authentication and its role check.
  installAuth(app, api);
  // Before the routes: its hook must precede the gateway's (registered by the runtime).
  if (components.iptv?.viewers !== undefined) void app.register(hlsViewerSessions, { api, viewers: components.iptv.viewers });
  // The OpenAPI document is made from the routes' own schemas (registered after this).
  void app.register(swagger, {
    openapi: {
      info: {
        title: 'ottmesh', version: '1',
        description: 'The REST API every node serves. Authorization: Bearer <API token> (or the dashboard session cookie), except health and login. ' +
          'Roles: read-only may GET; operator may also change streams, services, groups, policy, nodes and lines; admin also users, API tokens, ' +
          'settings, join tokens and node removal. A refused role answers 403.',
      },
      components: { securitySchemes: { apiToken: { type: 'http', scheme: 'bearer' } } },
      security: [{ apiToken: [] }],
    },
  });
  app.get('/api/v1/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
  void app.register(healthRoutes, { api });
  void app.register(clusterRoutes, { api });
  void app.register(joinTokenRoutes, { api });
  void app.register(nodeRoutes, { api });
  void app.register(settingsRoutes, { api });
  void app.register(streamRoutes, { api });
  void app.register(serviceRoutes, { api });
  void app.register(groupRoutes, { api });
  void app.register(policyRoutes, { api });
  void app.register(placementRoutes, { api });
  void app.register(streamLogRoutes, { api });
  void app.register(importRoutes, { api });
  void app.register(metricsRoutes, { api });
  void app.register(sessionRoutes, { api });
  void app.register(uiRoutes, { api });
  void app.register(troubleshootRoutes, { api });
  void app.register(lineRoutes, { api });
  void app.register(xtreamRoutes, { api, ...components.iptv });
  void app.register(playlistRoutes, { api, ...(components.iptv?.epg === undefined ? {} : { epg: components.iptv.epg }) });
  void app.register(userRoutes, { api });
  void app.register(apiTokenRoutes, { api });
  void app.register(auditRoutes, { api });
  void app.register(installRoutes, {});
  void app.register(sshInstallRoutes, { api });
  return app;
}

/** Starts listening; resolves with the bound address (port 0 picks a free one). Throws
 *  PortInUseError / AddressUnavailableError with a one-line message that says what to do. */
export async function listen(app: HttpServer, host: string, port: number): Promise<{ host: string; port: number; url: string }> {
  try {
    await app.listen({ host, port });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new PortInUseError(host, port);
    if (code === 'EADDRNOTAVAIL') throw new AddressUnavailableError(host);
    throw err;
  }
  const address = app.server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { host: address.address, port: address.port, url: `http://${urlHost}:${address.port}` };
}
