import t from 'tap';
import { findCardData, looksLikeCardNumber, passesLuhn } from '../../src/http/card-data.js';
import { testContext } from '../helpers/app.js';
import { PASSWORD, signUp, uniqueEmail } from '../helpers/factories.js';
import { readyFlow } from '../helpers/signup.js';

t.test('Luhn and the shape of a card number', async (t) => {
  t.ok(passesLuhn('4242424242424242'));
  t.notOk(passesLuhn('4242424242424241'));
  t.ok(looksLikeCardNumber('4242 4242 4242 4242'));
  t.ok(looksLikeCardNumber('5555-5555-5555-4444'));
  t.ok(looksLikeCardNumber('378282246310005'), 'a 15-digit Amex');
  t.notOk(looksLikeCardNumber('123456789012'), '12 digits');
  t.notOk(looksLikeCardNumber('12345678901234567890'), '20 digits');
  t.notOk(looksLikeCardNumber('4242424242424241'), 'fails Luhn');
  t.notOk(looksLikeCardNumber('pm_card_visa'));
  t.equal(findCardData({ a: { b: ['x', '4000 0566 5566 5556'] } }), 'body.a.b[1]');
  t.equal(findCardData({ card: { cvc: '123' } }), 'body.card.cvc');
  t.equal(findCardData({ Card_Number: 'x' }), 'body.Card_Number');
  t.equal(findCardData({ securityCode: 1 }), 'body.securityCode');
  t.equal(findCardData({ name: 'Ada', phoneNumber: '+44 20 7946 0958' }), undefined);
  t.equal(findCardData({ 'card[cvc]': '123' }), 'body.card[cvc]', 'a bracketed form name, part by part');
  t.equal(findCardData({ 'card[number]': '4242' }), 'body.card[number]');
  t.equal(findCardData({ cardCode: '123' }), 'body.cardCode', "Authorize.Net's name for the security code");
  t.equal(findCardData({ billingCardNumber: 'x' }), 'body.billingCardNumber');
  t.equal(findCardData({ cvc_code: '1' }), 'body.cvc_code');
  t.equal(findCardData({ paymentMethodId: 'pm_card_visa', code: '123456', postalCode: '22201' }), undefined, 'a verification code or a postal code is not card data');
});

t.test('every route refuses card data with 400 card_data_not_accepted, and the log has no trace of it', async (t) => {
  const ctx = await testContext(t, { captureLogs: true });
  const owner = await signUp(ctx.app);
  const flow = await readyFlow(ctx, { plan: 'pro' });
  const cases: { method: 'POST' | 'PUT' | 'PATCH'; url: string; payload: Record<string, unknown>; cookie?: string }[] = [
    { method: 'POST', url: '/v1/registrations', payload: { email: uniqueEmail(), password: PASSWORD, name: 'Ada', workspaceName: 'Engines', cardNumber: '4242424242424242' } },
    { method: 'POST', url: '/v1/registrations', payload: { email: uniqueEmail(), password: PASSWORD, name: '5555 5555 5555 4444', workspaceName: 'Engines' } },
    { method: 'POST', url: `/v1/workspaces/${owner.workspaceId}/billing/subscription`, cookie: owner.cookie, payload: { planId: 'pro', paymentMethodId: 'pm_card_visa', card: { number: '4000056655665556', cvc: '737', exp_month: 12 } } },
    { method: 'PUT', url: `/v1/workspaces/${owner.workspaceId}/billing/payment-method`, cookie: owner.cookie, payload: { paymentMethodId: 'pm_card_visa', cvv: '9182' } },
    { method: 'PATCH', url: `/v1/workspaces/${owner.workspaceId}/onboarding/draft`, cookie: owner.cookie, payload: { version: 0, data: { notes: ['card 378282246310005'.split(' ')[1]] } } },
    { method: 'POST', url: '/v1/sessions', payload: { email: owner.email, password: PASSWORD, card_number: '6011111111111117' } },
    { method: 'PUT', url: '/v1/signup-flows/current/payment-method', cookie: flow.cookie, payload: { paymentMethodId: 'pm_card_visa', card: { cvc: '737' } } },
    { method: 'PATCH', url: '/v1/signup-flows/current', cookie: flow.cookie, payload: { version: flow.version, company: { name: 'Engines', vatId: '4000056655665556' } } },
  ];
  for (const c of cases) {
    const response = await ctx.app.inject({ method: c.method, url: c.url, payload: c.payload, headers: c.cookie ? { cookie: c.cookie } : {} });
    t.equal(response.statusCode, 400, `${c.method} ${c.url}`);
    t.equal(response.json().code, 'card_data_not_accepted');
    t.notMatch(response.body, /4242424242424242|5555 5555|4000056655665556|737|9182|378282246310005|6011111111111117/, 'the answer does not echo it');
  }
  // A hosted page's form post: the guard runs before CSRF and validation.
  const form = await ctx.app.inject({ method: 'POST', url: '/verify-email', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'token=x&card[cvc]=737&card[exp_month]=12' });
  t.equal(form.statusCode, 400, 'a form post');
  t.match(form.body, /Card numbers and security codes are never accepted/, 'refused as card data, not for its missing CSRF token');
  const card = await ctx.runtime.db.selectFrom('signup_flows').select('data').where('id', '=', flow.id).executeTakeFirstOrThrow();
  t.equal((card.data as Record<string, unknown>).paymentMethod, undefined, 'the sign-up kept no card');
  const logs = ctx.logs();
  t.ok(logs.length > 0, 'the service logged at trace level');
  for (const secret of ['4242424242424242', '5555 5555 5555 4444', '4000056655665556', '378282246310005', '6011111111111117', '"737"', '"9182"']) {
    t.notOk(logs.includes(secret), `no trace of ${secret} in the log`);
  }
  const rows = await ctx.runtime.db.selectFrom('accounts').select('name').execute();
  t.notOk(rows.some((row) => /\d{13}/.test(row.name.replace(/ /g, ''))), 'nothing was stored');

  const fine = await ctx.app.inject({ method: 'POST', url: '/v1/registrations', payload: { email: uniqueEmail(), password: PASSWORD, name: 'Order 4242424242424241', workspaceName: 'Engines' } });
  t.equal(fine.statusCode, 201, 'a 16-digit string that fails Luhn is not a card number');
});
