// GET and PATCH /api/v1/settings: the cluster-wide settings (how many voters the autopilot keeps,
// when a silent node is suspect and down, when a down voter is replaced, the leader's floating
// address). PATCH is a replicated write (api.propose reaches the leader); fields left out keep
// their value.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';

import { actorOf } from '../auth.ts';
import { floatingAddressLengthMax, floatingAddressProblem, interfaceNameLengthMax } from '../../state/index.ts';
import { ApiError, CommandRefusedError } from '../errors.ts';
import { errorResponses } from '../schemas.ts';
import type { ClusterApi } from '../service.ts';

const Settings = Type.Object({
  votersTarget: Type.Union([Type.Literal(3), Type.Literal(5)]),
  suspectAfterS: Type.Number(),
  downAfterS: Type.Number(),
  replaceDownVoterAfterS: Type.Number(),
  /** The leader's floating address ("10.0.0.100/24"), or null (docs/floating-address.md). */
  // Null first: the body's type coercion would otherwise read null as "".
  floatingAddress: Type.Union([Type.Null(), Type.String({ maxLength: floatingAddressLengthMax })]),
  /** Its interface; null: the one whose subnet holds it. */
  floatingInterface: Type.Union([Type.Null(), Type.String({ maxLength: interfaceNameLengthMax })]),
});
const Patch = Type.Partial(Settings, { additionalProperties: false, minProperties: 1 });

export const settingsRoutes: FastifyPluginAsyncTypebox<{ api: ClusterApi }> = async (app, { api }) => {
  app.get('/api/v1/settings', {
    schema: { response: { 200: Settings, ...errorResponses } },
  }, async () => {
    await api.read();
    return api.state().settings;
  });

  app.patch('/api/v1/settings', {
    config: { role: 'admin' },
    schema: { body: Patch, response: { 200: Settings, ...errorResponses } },
  }, async (request) => {
    // A malformed address is the request's fault (400), said before anything is proposed.
    const { floatingAddress, floatingInterface } = { ...api.state().settings, ...request.body };
    const problem = floatingAddressProblem(floatingAddress, floatingInterface);
    if (problem !== null) throw new ApiError(400, problem);
    const result = await api.propose({ type: 'UpdateSettings', atMs: api.nowMs(), settings: request.body }, actorOf(request));
    if (!result.ok) throw new CommandRefusedError(result.reason);
    return api.state().settings;
  });
};
