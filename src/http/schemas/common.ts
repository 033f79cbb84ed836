import { Type, type TSchema } from 'typebox';

/** A string that is trimmed before it is checked and handed on (the `x-trim` keyword, see ajv-keywords.ts). */
export function TrimmedString(min: number, max: number, description?: string) {
  return Type.String({ 'x-trim': { min, max }, maxLength: max * 10, ...(description ? { description } : {}) });
}

export const Uuid = Type.String({ format: 'uuid' });
export const Email = Type.String({ format: 'email', maxLength: 254, description: 'A work email address.' });
export const Password = Type.String({ minLength: 8, maxLength: 256 });
export const DateTime = Type.String({ format: 'date-time' });
export const NullableDateTime = Type.Union([DateTime, Type.Null()]);
export const Role = Type.Union([Type.Literal('owner'), Type.Literal('admin'), Type.Literal('member')]);
export const TrialState = Type.Union([Type.Literal('pending_verification'), Type.Literal('active'), Type.Literal('expired')]);
export const WorkspaceStatus = Type.Union([Type.Literal('active'), Type.Literal('closed')]);

export const WorkspaceParams = Type.Object({ id: Uuid });

/** RFC 9457 problem details, with our machine-readable `code`. */
export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String(),
    errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
  },
  { additionalProperties: true, $id: 'Problem' },
);

/** Response schemas for the given error statuses, all problem documents. */
export function problems(...statuses: number[]): Record<number, TSchema> {
  return Object.fromEntries(statuses.map((status) => [status, Type.Ref('Problem')]));
}

export const Account = Type.Object({
  id: Uuid,
  email: Type.String(),
  name: Type.String(),
  emailVerified: Type.Boolean(),
});

export const Workspace = Type.Object({
  id: Uuid,
  name: Type.String(),
  plan: Type.String(),
  status: WorkspaceStatus,
  trialEndsAt: NullableDateTime,
  trialState: TrialState,
  initializedAt: NullableDateTime,
  createdAt: DateTime,
});

export const Membership = Type.Object({ ...Workspace.properties, role: Role });

export const Invitation = Type.Object({
  id: Uuid,
  email: Type.String(),
  role: Role,
  status: Type.Union([Type.Literal('pending'), Type.Literal('accepted'), Type.Literal('revoked'), Type.Literal('expired')]),
  expiresAt: DateTime,
  invitedBy: Type.Object({ accountId: Type.Union([Uuid, Type.Null()]), name: Type.Union([Type.String(), Type.Null()]) }),
  createdAt: DateTime,
});

export const Member = Type.Object({ accountId: Uuid, name: Type.String(), email: Type.String(), role: Role, joinedAt: DateTime });

/** Member routes answer 401 signed out, 404 to non-members, 403 to roles that may not act. */
export const memberRouteProblems = problems(400, 401, 403, 404);
