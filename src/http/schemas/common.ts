import { Type, type Static, type TSchema, type TUnsafe } from 'typebox';
import * as examples from './examples.js';

/** A string that is trimmed before it is checked and handed on (the `x-trim` keyword, see ajv-keywords.ts). */
export function TrimmedString(min: number, max: number, description?: string) {
  return Type.String({ 'x-trim': { min, max }, maxLength: max * 10, ...(description ? { description } : {}) });
}

/**
 * One line of visible text, trimmed, `min` to `max` characters: no control characters (line breaks,
 * tabs, ESC), no direction overrides, not only invisible characters (ajv-keywords.ts, lineProblem).
 * For names, company and address lines: what others read in emails, pages and exports.
 */
export function SingleLine(min: number, max: number, description?: string) {
  return Type.String({ 'x-trim': { min, max, line: true }, maxLength: max * 10, ...(description ? { description } : {}) });
}

/** The longest person name, after trimming (the pages' maxlength). */
export const PERSON_NAME_MAX = 100;

/**
 * A person's name (registration, invitation accept, sign-up profile): one line of visible text,
 * trimmed, `min` (1) to 100 characters. A page that says "Enter your name" itself passes `min` 0.
 */
export function PersonName(description?: string, min = 1) {
  return SingleLine(min, PERSON_NAME_MAX, description);
}

/**
 * `schema` or null, written as one type list (`type: ['string', 'null']`, JSON Schema 2020-12 as
 * OpenAPI 3.1 uses it) rather than an anyOf of the two. A request field's error then names the rule
 * it broke (too long, not a UUID) instead of "must be a string or null"; fast-json-stringify writes
 * the value after a type check, where an anyOf costs an Ajv validation per response and compiles
 * Ajv schemas on a route's first answer. `schema` must have a single `type`.
 */
export function Nullable<T extends TSchema>(schema: T, options: Record<string, unknown> = {}): TUnsafe<Static<T> | null> {
  const type = (schema as { type?: unknown }).type;
  if (typeof type !== 'string') throw new Error(`Nullable needs a schema with a single type, not ${JSON.stringify(type)}.`);
  return Type.Unsafe<Static<T> | null>({ ...schema, ...options, type: [type, 'null'] });
}

export const Uuid = Type.String({ format: 'uuid' });
export const Email = Type.String({ format: 'email', maxLength: 254, description: 'A work email address.' });
export const Password = Type.String({ minLength: 8, maxLength: 256 });
export const DateTime = Type.String({ format: 'date-time' });
export const NullableDateTime = Nullable(DateTime);
export const Role = Type.Enum(['owner', 'admin', 'member'], { title: 'Role' });
export const TrialState = Type.Enum(['pending_verification', 'active', 'expired'], { title: 'TrialState' });
export const WorkspaceStatus = Type.Enum(['active', 'closed'], { title: 'WorkspaceStatus' });

export const WorkspaceParams = Type.Object({ id: Uuid });

/** RFC 9457 problem details, with our machine-readable `code`. */
export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String(),
    errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }), { description: 'One entry per invalid field (validation_failed).' })),
  },
  {
    additionalProperties: true,
    $id: 'Problem',
    description: 'An RFC 9457 problem document; `code` is stable and machine-readable, `detail` is a sentence for people.',
  },
);

/** Response schemas for the given error statuses, all problem documents. */
export function problems(...statuses: number[]): Record<number, TSchema> {
  return Object.fromEntries(statuses.map((status) => [status, Type.Ref('Problem')]));
}

export const Account = Type.Object(
  {
    id: Uuid,
    email: Type.String(),
    name: Type.String(),
    emailVerified: Type.Boolean(),
  },
  { title: 'Account', examples: [examples.account] },
);

const workspaceProperties = {
  id: Uuid,
  name: Type.String(),
  plan: Type.String({ description: 'Id of a plan in PLANS.' }),
  status: WorkspaceStatus,
  trialEndsAt: NullableDateTime,
  trialState: TrialState,
  initializedAt: NullableDateTime,
  createdAt: DateTime,
};

export const Workspace = Type.Object(workspaceProperties, { title: 'Workspace', examples: [examples.workspace] });

export const Membership = Type.Object({ ...workspaceProperties, role: Role }, { title: 'Membership', description: 'A workspace with the role of the signed-in account in it.', examples: [examples.membership] });

export const Invitation = Type.Object(
  {
    id: Uuid,
    email: Type.String(),
    role: Role,
    status: Type.Enum(['pending', 'accepted', 'revoked', 'expired']),
    expiresAt: DateTime,
    invitedBy: Type.Object({ accountId: Nullable(Uuid), name: Nullable(Type.String()) }),
    createdAt: DateTime,
  },
  { title: 'Invitation', examples: [examples.invitation] },
);

export const Member = Type.Object(
  { accountId: Uuid, name: Type.String(), email: Type.String(), role: Role, joinedAt: DateTime },
  { title: 'Member', examples: [examples.member] },
);

/** Member routes answer 401 signed out, 404 to non-members, 403 to roles that may not act. */
export const memberRouteProblems = problems(400, 401, 403, 404);

/** An Idempotency-Key header: a retry with the same key and body replays the first answer. */
export const IdempotencyKey = Type.String({ minLength: 1, maxLength: 255, description: 'A unique key per intended request, e.g. a UUID.', examples: ['3f1c9d2e-7a4b-4c8d-9e0f-1a2b3c4d5e6f'] });
