/**
 * Which database failures are "the database is out of reach" (a 503 to retry) and which
 * are a query that failed (a 500): src/pg/errors.ts. The real outage, through replicas, is
 * pgtest/cluster-config.test.ts; this pins the classification itself.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StoreUnavailableError } from '../src/errors.js';
import { rethrowUnreachable, unreachable } from '../src/pg/errors.js';
import { toGatewayError } from '../src/server/respond.js';
import { retryable } from '../src/telemetry/pg/sql.js';

const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });

test('connection failures are unreachable; failed queries and bugs are not', () => {
  for (const err of [
    withCode('ECONNREFUSED'),
    withCode('ECONNRESET'),
    withCode('ETIMEDOUT'),
    withCode('08006'),
    withCode('57P01', 'terminating connection due to administrator command'),
    withCode('57P03', 'the database system is starting up'),
    withCode('53300', 'sorry, too many clients already'),
    withCode('55000', 'database "keyway" is not currently accepting connections'),
    new Error('Connection terminated unexpectedly'),
    new Error('timeout exceeded when trying to connect'),
    Object.assign(new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')], ''), {}),
  ]) {
    assert.equal(unreachable(err), true, `${(err as Error).message} ${(err as { code?: string }).code ?? ''}`);
  }
  for (const err of [
    withCode('42P01', 'relation "requests" does not exist'),
    withCode('23505', 'duplicate key value violates unique constraint'),
    withCode('22P02', 'invalid input syntax for type bigint'),
    withCode('55000', 'some other prerequisite'),
    new TypeError("Cannot read properties of undefined (reading 'rows')"),
    null,
    'a string',
  ]) {
    assert.equal(unreachable(err), false, String((err as Error | null)?.message ?? err));
  }
});

test('an unreachable database answers 503 STORE_UNAVAILABLE with Retry-After, without its description; a failed query stays a 500', async () => {
  const rethrow = rethrowUnreachable(() => 'configuration database: connect ECONNREFUSED 10.0.0.5:5432 (ECONNREFUSED)');
  const away = await Promise.reject(withCode('ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.5:5432')).catch(rethrow).catch((e: unknown) => e);
  assert.ok(away instanceof StoreUnavailableError);
  const answer = toGatewayError(away);
  assert.equal(answer.status, 503);
  assert.equal(answer.code, 'STORE_UNAVAILABLE');
  assert.equal(answer.headers?.['retry-after'], '5');
  assert.ok(!answer.message.includes('10.0.0.5'), answer.message);

  const broken = withCode('42P01', 'relation "requests" does not exist');
  const failed = await Promise.reject(broken).catch(rethrow).catch((e: unknown) => e);
  assert.equal(failed, broken, 'passed on unchanged');
  assert.equal(toGatewayError(failed).status, 500);
});

test('a telemetry batch is written again after what passes (unreachable, deadlock, disk full, a driver timeout), never after a refused statement', () => {
  for (const err of [withCode('ECONNREFUSED'), withCode('57P01'), withCode('40P01', 'deadlock detected'), withCode('40001'), withCode('53100', 'could not extend file'), new Error('Query read timeout')]) {
    assert.equal(retryable(err), true, `${(err as Error).message} ${(err as { code?: string }).code ?? ''}`);
  }
  for (const err of [withCode('42P01'), withCode('23505'), withCode('22P02'), withCode('22021', 'invalid byte sequence for encoding "UTF8": 0x00')]) {
    assert.equal(retryable(err), false, (err as { code: string }).code);
  }
});
