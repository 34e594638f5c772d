/**
 * `POST /api/models/test` (the dashboard's Test button): a short request to one model,
 * sent from the server with the provider's own key, answered with the model's reply or
 * the provider's error. Passthrough-only providers have no key to test with.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Access } from '../access/grants.js';
import { GatewayError } from '../errors.js';
import { FORMATS } from '../formats/registry.js';
import type { Identity } from '../identity/identity.js';
import { readJsonObject } from './body.js';
import type { GatewayContext } from './context.js';
import { callProvider, serverFormat } from './provider-call.js';
import { sendJson } from './respond.js';

export async function testModel(ctx: GatewayContext, req: IncomingMessage, res: ServerResponse, identity: Identity, access: Access): Promise<void> {
  const body = await readJsonObject(req, ctx.bodyLimit);
  const snapshot = ctx.config.current;
  const providerId = typeof body.provider === 'string' ? body.provider : '';
  const provider = snapshot.providers.get(providerId);
  const model = typeof body.model === 'string' ? body.model : '';
  if (!provider || provider.spec.disabled || !provider.models.has(model) || !access.canUseModel(provider.id, model)) {
    throw new GatewayError('UNKNOWN_MODEL', `model "${providerId}/${model}" is not available to you`);
  }
  if (provider.requiresClientAuth) throw new GatewayError('NO_PROVIDER_KEY', `no API key is configured for ${provider.id}; clients bring their own (passthrough-only), so there is nothing to test with`);
  const format = serverFormat(provider, FORMATS, model);
  if (!format) throw new GatewayError('BAD_REQUEST', `${provider.id} serves no API keyway can test`);
  const started = performance.now();
  const result = await callProvider({
    ctx,
    identity,
    access,
    snapshot,
    provider,
    format,
    upstreamModel: model,
    turns: [{ role: 'user', content: 'Reply with the single word: OK' }],
    stream: false,
    maxTokens: 16,
    client: 'dashboard-test',
  });
  sendJson(res, 200, {
    ok: result.ok,
    status: result.status,
    latency_ms: Math.round(performance.now() - started),
    format: format.flag,
    ...(result.ok ? { text: result.text } : { error: result.error }),
    // A quota refusal names the bucket, so the Models page can say which one is empty.
    ...(result.refusal?.code === 'QUOTA_EXCEEDED' ? { quota: result.refusal.details } : {}),
  });
}
