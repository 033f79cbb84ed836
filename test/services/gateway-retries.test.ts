import t from 'tap';
import { retryWhileUnavailable } from '../../src/services/billing/gateway-retries.js';
import { GatewayRejectedError, GatewayUnavailableError } from '../../src/services/billing/payment-gateway.js';

const policy = { maxAttempts: 3, baseMs: 1 };

t.test('an unavailable gateway is tried again, up to maxAttempts, with the caller told before each retry', async (t) => {
  const events: string[] = [];
  let calls = 0;
  const result = await retryWhileUnavailable(
    policy,
    async () => {
      events.push(`attempt ${++calls}`);
      if (calls < 3) throw new GatewayUnavailableError('down');
      return 'created';
    },
    async () => void events.push('retrying'),
  );
  t.equal(result, 'created');
  t.same(events, ['attempt 1', 'retrying', 'attempt 2', 'retrying', 'attempt 3']);
});

t.test('after maxAttempts the last unavailable error is thrown', async (t) => {
  let calls = 0;
  await t.rejects(
    retryWhileUnavailable(policy, async () => {
      calls++;
      throw new GatewayUnavailableError(`down ${calls}`);
    }),
    { message: 'down 3' },
  );
  t.equal(calls, 3);
});

t.test('any other error is thrown at once: a refusal is not retried', async (t) => {
  let calls = 0;
  await t.rejects(
    retryWhileUnavailable(policy, async () => {
      calls++;
      throw new GatewayRejectedError('No such customer.', 'resource_missing');
    }),
    GatewayRejectedError,
  );
  t.equal(calls, 1);
});
