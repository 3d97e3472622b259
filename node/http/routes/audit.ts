// GET /api/v1/audit: the audit log (node/state/audit.ts), newest first, for every role. Filters:
// user, action and target match exactly; q is a case-insensitive substring of the summary or the
// target; since and until (inclusive) take ISO 8601 times or milliseconds since the epoch.
// `total` counts every matching entry, `entries` holds at most `limit` of them.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';

import { auditEntries, isoFromMs, queryAudit } from '../../state/index.ts';
import { ApiError } from '../errors.ts';
import { errorResponses } from '../schemas.ts';
import type { ClusterApi } from '../service.ts';

export const auditLimitDefault = 100;
export const auditLimitMax = 1000;

const Time = Type.String({ minLength: 1, maxLength: 64, description: 'ISO 8601, or milliseconds since the epoch' });
const Query = Type.Object({
  user: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  action: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  target: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  since: Type.Optional(Time),
  until: Type.Optional(Time),
  limit: Type.Integer({ minimum: 1, maximum: auditLimitMax, default: auditLimitDefault }),
}, { additionalProperties: false });
const Role = Type.Union([Type.Literal('read-only'), Type.Literal('operator'), Type.Literal('admin')]);
const Entry = Type.Object({
  id: Type.Integer(), at: Type.String(), atMs: Type.Integer(), user: Type.String(), role: Type.Union([Role, Type.Null()]),
  via: Type.Union([Type.Literal('token'), Type.Literal('session')]), tokenId: Type.Union([Type.String(), Type.Null()]),
  action: Type.String(), target: Type.String(), summary: Type.String(),
});
const AuditBody = Type.Object({ entries: Type.Array(Entry), total: Type.Integer() });

/** `text` as ms since the epoch: digits are ms, anything else must parse as an ISO time. Throws a 400. */
export function timeMs(field: string, text: string): number {
  const ms = /^[0-9]{1,15}$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) throw new ApiError(400, `${field} "${text}" is not a time: give ISO 8601 (2030-01-31T12:00:00Z) or milliseconds since the epoch`);
  return ms;
}

export const auditRoutes: FastifyPluginAsyncTypebox<{ api: ClusterApi }> = async (app, { api }) => {
  app.get('/api/v1/audit', { schema: { querystring: Query, response: { 200: AuditBody, ...errorResponses } } }, async (request) => {
    const { user, action, target, q, since, until, limit } = request.query;
    const filter = {
      limit,
      ...(user === undefined ? {} : { user }),
      ...(action === undefined ? {} : { action }),
      ...(target === undefined ? {} : { target }),
      ...(q === undefined ? {} : { q }),
      ...(since === undefined ? {} : { sinceMs: timeMs('since', since) }),
      ...(until === undefined ? {} : { untilMs: timeMs('until', until) }),
    };
    await api.read();
    const found = queryAudit(auditEntries(api.state()), filter);
    return { entries: found.entries.map((e) => ({ ...e, at: isoFromMs(e.atMs) })), total: found.total };
  });
};
