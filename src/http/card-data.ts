import type { FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';

/**
 * Never card data. The browser turns a card into a payment-method id with the gateway's own script
 * (Stripe.js / Elements), so a card number or a security code never reaches us; one sent anyway is
 * refused before validation, handlers and logging (https://docs.stripe.com/security/guide#validating-pci-compliance).
 */

/** Field names of a card number or a security code, whole (`number` alone is one, `phoneNumber` is not). */
const CARD_FIELDS = new Set([
  'number',
  'cardnumber',
  'cardno',
  'cardnum',
  'ccnumber',
  'ccnum',
  'creditcard',
  'creditcardnumber',
  'pan',
  'primaryaccountnumber',
  'cvc',
  'cvc2',
  'cvv',
  'cvv2',
  'cid',
  'csc',
  'cardcvc',
  'cardcvv',
  'securitycode',
  'cardsecuritycode',
  'cardverificationcode',
  'cardverificationvalue',
]);

/** Parts of a name that make it a card number or a security code wherever they stand (`billingCardNumber`, `cvc_code`). */
const CARD_NAME_PARTS = ['cardnumber', 'cvc', 'cvv', 'securitycode', 'cardcode', 'cardverification'];

/**
 * Whether a field name names a card number or a security code: compared without case, `_` or `-`,
 * and each part of a bracketed form name (`card[number]`, `card[cvc]`) on its own.
 */
export function isCardFieldName(name: string): boolean {
  return name
    .toLowerCase()
    .split(/[[\].]+/)
    .map((part) => part.replace(/[_\s-]/g, ''))
    .some((part) => CARD_FIELDS.has(part) || CARD_NAME_PARTS.some((word) => part.includes(word)));
}

/** 13 to 19 digits, optionally grouped by spaces or dashes: the shape of a card number. */
const CARD_NUMBER_SHAPE = /^\d(?:[ -]?\d){12,18}$/;

/** The Luhn checksum every card number passes (ISO/IEC 7812-1). */
export function passesLuhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let digit = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

/** Whether a string (or a whole number) looks like a card number: 13-19 digits that pass Luhn. */
export function looksLikeCardNumber(value: string | number): boolean {
  const text = String(value).trim();
  if (!CARD_NUMBER_SHAPE.test(text)) return false;
  return passesLuhn(text.replace(/[ -]/g, ''));
}

/** The path of the first card-like field or value in a parsed body, or undefined. */
export function findCardData(value: unknown, path = 'body', depth = 0): string | undefined {
  if (depth > 32) return undefined;
  if (typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value))) return looksLikeCardNumber(value) ? path : undefined;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = findCardData(item, `${path}[${index}]`, depth + 1);
      if (found) return found;
    }
    return undefined;
  }
  if (value && typeof value === 'object' && !Buffer.isBuffer(value)) {
    for (const [key, item] of Object.entries(value)) {
      if (isCardFieldName(key) && item !== null && item !== undefined && item !== '') return `${path}.${key}`;
      const found = findCardData(item, `${path}.${key}`, depth + 1);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * The one guard, a preValidation hook on every route: a body holding card data answers 400
 * `card_data_not_accepted`, naming the field but never echoing the value; the body is not logged
 * (no logger serializes bodies, see loggerOptions).
 */
export async function refuseCardData(request: FastifyRequest): Promise<void> {
  const field = request.body === undefined || request.body === null ? undefined : findCardData(request.body);
  if (field) {
    throw new AppError('card_data_not_accepted', 'Card numbers and security codes are never accepted: collect the card with Stripe.js (Elements) in the browser and send only its payment-method id.', {
      fields: [{ field: field.replace(/^body\.?/, '') || 'body', message: 'looks like card data, which is not accepted' }],
    });
  }
}
