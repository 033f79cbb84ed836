import t from 'tap';
import { loadConfig } from '../../src/config.js';
import { COUNTRY_CODES, sectionErrors, storedSections } from '../../src/services/signup/signup-fields.js';

const plans = loadConfig({}).plans;
const address = (country: string, region?: string, postalCode = '00000') => ({ address: { line1: '1 Main St', city: 'Town', postalCode, country, ...(region === undefined ? {} : { region }) } });
const fields = (patch: Parameters<typeof sectionErrors>[0]) => sectionErrors(patch, plans).map((e) => e.field);

t.test('every ISO 3166-1 alpha-2 code, and nothing else', async (t) => {
  t.equal(COUNTRY_CODES.length, 249);
  for (const code of ['US', 'CA', 'GB', 'DE', 'JP', 'AQ', 'BV', 'SS', 'CW']) t.ok(COUNTRY_CODES.includes(code), code);
  t.notOk(COUNTRY_CODES.includes('XK'), 'a user-assigned code is not part of the standard');
  t.notOk(COUNTRY_CODES.includes('UK'));
  t.ok(COUNTRY_CODES.every((code) => /^[A-Z]{2}$/.test(code)));
});

t.test('regions: required and checked for US states and CA provinces, free elsewhere', async (t) => {
  t.same(fields(address('US', undefined, '10001')), ['address.region']);
  t.same(fields(address('US', 'NY', '10001')), []);
  t.same(fields(address('US', 'DC', '20001-1234')), []);
  t.same(fields(address('US', 'ON', '10001')), ['address.region'], 'a province is not a state');
  t.same(fields(address('CA', 'QC', 'H2X 1Y4')), []);
  t.same(fields(address('CA', 'NY', 'H2X1Y4')), ['address.region']);
  t.same(fields(address('CA', undefined, 'H2X 1Y4')), ['address.region']);
  t.same(fields(address('FR', undefined, '75001')), []);
  t.same(fields(address('GB', 'Greater London', 'SW1A 1AA')), []);
  t.same(fields(address('US', 'NY', '1000')), ['address.postalCode']);
  t.same(fields(address('CA', 'ON', '12345')), ['address.postalCode']);
});

t.test('postal codes: checked against each country\'s format (postcode-validator), the message showing the format', async (t) => {
  const errors = (country: string, postalCode: string) => sectionErrors(address(country, country === 'US' ? 'NY' : undefined, postalCode), plans);
  t.same(errors('DE', '1011'), [{ field: 'address.postalCode', message: 'is not a valid DE postal code (expected format: 00000)' }]);
  t.same(errors('DE', '10115'), []);
  t.same(errors('GB', '12345'), [{ field: 'address.postalCode', message: 'is not a valid GB postal code (expected format: A000AA or Z9Z 9ZZ)' }]);
  t.same(errors('GB', 'SW1A 1AA'), []);
  t.same(errors('NL', '1012'), [{ field: 'address.postalCode', message: 'is not a valid NL postal code (expected format: 0000AA or 9999 ZZ)' }]);
  t.same(errors('NL', '1012 AB'), []);
  t.same(errors('JP', '10000'), [{ field: 'address.postalCode', message: 'is not a valid JP postal code (expected format: 000-0000)' }]);
  t.same(errors('AT', '0123'), [{ field: 'address.postalCode', message: 'is not a valid AT postal code (expected format: 9999)' }], 'an example the format accepts (no leading 0 in AT)');
  t.same(errors('US', 'ABCDE'), [{ field: 'address.postalCode', message: 'is not a valid US postal code (expected format: 00000 or 99999-9999)' }]);
  t.same(errors('AQ', 'anything'), [], 'a country without a known format takes any code');
  for (const [country, code] of [['NL', '1012 ab'], ['IE', 'd02 x285'], ['MT', 'vlt 1117'], ['AR', 'c1002aap'], ['GB', 'sw1a 1aa']]) {
    t.same(errors(country!, code!), [], `${country} ${code}: letters in either case, as people type them`);
  }
});

t.test('a postal code typed without its separator, or with another one, is kept in its country\'s format', async (t) => {
  const stored = (country: string, postalCode: string) => {
    const patch = address(country, country === 'US' ? 'NY' : undefined, postalCode);
    t.same(sectionErrors(patch, plans), [], `${country} ${postalCode} is accepted`);
    return storedSections(patch).address?.postalCode;
  };
  t.equal(stored('JP', '1000001'), '100-0001');
  t.equal(stored('JP', '100 0001'), '100-0001');
  t.equal(stored('IN', '110 001'), '110001');
  t.equal(stored('US', '12345 6789'), '12345-6789', 'a ZIP+4 without its hyphen');
  t.equal(stored('PL', '00950'), '00-950');
  t.equal(stored('JP', '１００-０００１'), '100-0001', 'full-width digits, as Japanese input methods type them');
  t.equal(stored('NL', '1012 ab'), '1012 ab', 'a code that fits as typed is kept as typed');
  t.equal(stored('AQ', 'anything'), 'anything', 'a country without a known format keeps any code');
  t.same(sectionErrors(address('JP', undefined, '10000011'), plans).map((error) => error.field), ['address.postalCode'], 'one digit too many still fits no shape');
  t.same(sectionErrors(address('US', 'NY', '\u0661\u0662\u0663\u0664\u0665 12345'), plans).map((error) => error.field), ['address.postalCode'], 'characters of another script are never dropped to make a code fit');
});

t.test('plans come from configuration', async (t) => {
  t.same(fields({ plan: { id: 'trial' } }), []);
  t.same(fields({ plan: { id: 'pro' } }), []);
  t.same(fields({ plan: { id: 'enterprise' } }), ['plan.id']);
});
