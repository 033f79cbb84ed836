import type { ColumnType, Generated } from 'kysely';

/** A timestamp column: read as Date, written as Date or an SQL expression. */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type DefaultedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
/** jsonb: read as parsed JSON, written as a JSON string (pg would send arrays as Postgres arrays). */
type Json<T> = ColumnType<T, string | undefined, string>;

export type Role = 'owner' | 'admin' | 'member';
export type WorkspaceStatus = 'active' | 'closed';
export type InvitationStatus = 'pending' | 'accepted' | 'revoked' | 'expired';
export type ActorType = 'account' | 'admin' | 'system';

export interface AccountsTable {
  id: Generated<string>;
  email: string;
  name: string;
  password_hash: string;
  email_verified_at: Timestamp | null;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
}

export interface SessionsTable {
  id: Generated<string>;
  token_hash: Buffer;
  account_id: string;
  created_at: DefaultedTimestamp;
  expires_at: Timestamp;
}

export interface AdminPageSessionsTable {
  id: Generated<string>;
  token_hash: Buffer;
  admin_token_mac: Buffer;
  actor: string;
  created_at: DefaultedTimestamp;
  expires_at: Timestamp;
}

export interface EmailVerificationsTable {
  id: Generated<string>;
  account_id: string;
  token_hash: Buffer;
  created_at: DefaultedTimestamp;
  expires_at: Timestamp;
  sent_at: Timestamp | null;
  verified_at: Timestamp | null;
  invalidated_at: Timestamp | null;
}

export interface WorkspacesTable {
  id: Generated<string>;
  name: string;
  plan: Generated<string>;
  trial_ends_at: Timestamp | null;
  initialized_at: Timestamp | null;
  settings: Json<Record<string, unknown>> | null;
  status: Generated<WorkspaceStatus>;
  closed_at: Timestamp | null;
  created_at: DefaultedTimestamp;
  /** Name and owner emails, lower case, kept by triggers (migration 0010) for the admin search. */
  search_text: Generated<string>;
  /** The status of the current subscription ('none' without one), kept by a trigger (migration 0013) for the admin search. */
  subscription_status: Generated<'none' | SubscriptionStatus>;
}

export interface WorkspaceMembersTable {
  workspace_id: string;
  account_id: string;
  role: Role;
  joined_at: DefaultedTimestamp;
}

export interface OnboardingProgressTable {
  workspace_id: string;
  completed_steps: ColumnType<string[], string[] | undefined, string[]>;
  step_completed_at: Json<Record<string, string>>;
  current_step: string | null;
  data: Json<Record<string, unknown>>;
  version: Generated<number>;
  completed_at: Timestamp | null;
  updated_at: DefaultedTimestamp;
}

export interface InvitationsTable {
  id: Generated<string>;
  workspace_id: string;
  email: string;
  role: Role;
  token_hash: Buffer;
  status: Generated<InvitationStatus>;
  invited_by: string | null;
  created_at: DefaultedTimestamp;
  expires_at: Timestamp;
  sent_at: DefaultedTimestamp;
  /** Which send is current; the link is derived from (id, send_number). */
  send_number: Generated<number>;
  accepted_at: Timestamp | null;
  accepted_by: string | null;
  revoked_at: Timestamp | null;
}

export interface IdempotencyKeysTable {
  scope: string;
  key: string;
  request_hash: Buffer;
  account_id: string | null;
  response: Json<unknown> | null;
  created_at: DefaultedTimestamp;
}

export interface RateLimitsTable {
  key: string;
  hits: number;
  window_ends_at: Timestamp;
}

export interface AuditEventsTable {
  id: Generated<string>;
  occurred_at: DefaultedTimestamp;
  actor_type: ActorType;
  actor_id: string | null;
  action: string;
  workspace_id: string | null;
  account_id: string | null;
  data: Json<Record<string, unknown>>;
}

export interface TrialNotificationsTable {
  workspace_id: string;
  kind: 'ending_soon' | 'ended';
  trial_ends_at: Timestamp;
  created_at: DefaultedTimestamp;
}

export type SignupCodeKind = 'verify_email' | 'resume';

export interface SignupFlowsTable {
  id: Generated<string>;
  email: string | null;
  email_verified_at: Timestamp | null;
  code_kind: SignupCodeKind | null;
  code_hash: Buffer | null;
  code_number: Generated<number>;
  code_attempts: Generated<number>;
  code_expires_at: Timestamp | null;
  code_sent_at: Timestamp | null;
  data: Json<Record<string, unknown>>;
  version: Generated<number>;
  password_hash: string | null;
  steps_reached: ColumnType<string[], string[] | undefined, string[]>;
  marketing_consent: Generated<boolean>;
  consent_text_version: string | null;
  consent_at: Timestamp | null;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
  expires_at: Timestamp;
  expired_at: Timestamp | null;
  completed_at: Timestamp | null;
  discarded_at: Timestamp | null;
  account_id: string | null;
  workspace_id: string | null;
  lead_exported_at: Timestamp | null;
  purged_at: Timestamp | null;
}

export interface SignupFlowTokensTable {
  token_hash: Buffer;
  flow_id: string;
  created_at: DefaultedTimestamp;
  revoked_at: Timestamp | null;
}

export interface ProfilesTable {
  account_id: string;
  first_name: string;
  last_name: string;
  company_name: string | null;
  address_line1: string | null;
  address_line2: string | null;
  city: string | null;
  region: string | null;
  postal_code: string | null;
  country: string | null;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
}

export interface SignupLeadsTable {
  id: Generated<string>;
  flow_id: string | null;
  email: string;
  email_verified: boolean;
  first_name: string | null;
  last_name: string | null;
  company_name: string | null;
  last_step: string | null;
  started_at: Timestamp;
  abandoned_at: Timestamp;
  marketing_consent: boolean;
  consent_text_version: string | null;
  consent_at: Timestamp | null;
  exported_at: DefaultedTimestamp;
}

export type SubscriptionStatus = 'trialing' | 'active' | 'past_due' | 'canceled';
export type GatewayName = 'stripe' | 'local';
export type SagaKind = 'workspace_subscription' | 'payment_method_change' | 'signup';
export type SagaState = 'running' | 'requires_action' | 'pivoted' | 'completed' | 'failed';
export type SagaStepStatus = 'started' | 'requires_action' | 'succeeded' | 'failed' | 'compensated';

export interface BillingCustomersTable {
  id: Generated<string>;
  workspace_id: string;
  gateway: GatewayName;
  customer_id: string;
  created_at: DefaultedTimestamp;
}

export interface PaymentMethodsTable {
  id: Generated<string>;
  workspace_id: string;
  customer_id: string;
  gateway_id: string;
  brand: string;
  last4: string;
  exp_month: number;
  exp_year: number;
  is_default: Generated<boolean>;
  created_at: DefaultedTimestamp;
}

export interface SubscriptionsTable {
  id: Generated<string>;
  workspace_id: string;
  customer_id: string;
  gateway_id: string;
  plan: string;
  status: SubscriptionStatus;
  trial_end: Timestamp | null;
  current_period_end: Timestamp | null;
  cancel_at_period_end: Generated<boolean>;
  canceled_at: Timestamp | null;
  gateway_updated_at: Timestamp;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
}

export interface BillingSagasTable {
  id: Generated<string>;
  kind: SagaKind;
  subject_id: string;
  workspace_id: string | null;
  input: Json<Record<string, unknown>>;
  state: Generated<SagaState>;
  compensating: Generated<boolean>;
  attempts: Generated<number>;
  last_error: string | null;
  outcome: Json<Record<string, unknown>> | null;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
  finished_at: Timestamp | null;
}

export interface BillingSagaStepsTable {
  saga_id: string;
  step: string;
  idempotency_key: string;
  gateway_object_id: string | null;
  data: Json<Record<string, unknown>>;
  status: SagaStepStatus;
  error: string | null;
  started_at: DefaultedTimestamp;
  finished_at: Timestamp | null;
  compensated_at: Timestamp | null;
}

export interface GatewayEventsTable {
  id: Generated<string>;
  event_id: string;
  gateway: GatewayName;
  type: string;
  object_id: string | null;
  payload: Json<Record<string, unknown>>;
  created_at: Timestamp;
  received_at: DefaultedTimestamp;
  processed_at: Timestamp | null;
  attempts: Generated<number>;
  outcome: string | null;
  last_error: string | null;
}

export interface LocalGatewayObjectsTable {
  id: string;
  type: string;
  data: Json<Record<string, unknown>>;
  created_at: DefaultedTimestamp;
  deleted_at: Timestamp | null;
}

export interface LocalGatewayRequestsTable {
  idempotency_key: string;
  request_hash: string;
  response: Json<{ status: number; body: Record<string, unknown> }>;
  created_at: DefaultedTimestamp;
}

export interface EventSequencesTable {
  workspace_id: string;
  last_sequence: ColumnType<string, string | number, string | number>;
}

export interface EventsTable {
  id: string;
  type: string;
  occurred_at: DefaultedTimestamp;
  workspace_id: string | null;
  /** bigint: pg returns it as a string. */
  sequence: ColumnType<string | null, string | number | null, string | number | null>;
  data: Json<Record<string, unknown>>;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed' | 'cancelled';

export interface WebhookEndpointsTable {
  id: Generated<string>;
  url: string;
  description: string | null;
  event_types: string[] | null;
  enabled: Generated<boolean>;
  disabled_reason: string | null;
  secret: Buffer;
  previous_secret: Buffer | null;
  previous_expires_at: Timestamp | null;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
}

export interface WebhookDeliveriesTable {
  id: Generated<string>;
  event_id: string;
  endpoint_id: string;
  status: Generated<DeliveryStatus>;
  attempts: Generated<number>;
  next_attempt_at: Timestamp | null;
  locked_until: Timestamp | null;
  last_attempt_at: Timestamp | null;
  delivered_at: Timestamp | null;
  created_at: DefaultedTimestamp;
}

export interface WebhookAttemptsTable {
  id: Generated<string>;
  delivery_id: string;
  attempted_at: DefaultedTimestamp;
  duration_ms: number;
  status_code: number | null;
  error: string | null;
  response_excerpt: string | null;
}

export interface WorkerHeartbeatsTable {
  worker_id: string;
  hostname: string;
  pid: number;
  started_at: DefaultedTimestamp;
  last_seen_at: DefaultedTimestamp;
}

export interface EmailDeliveriesTable {
  message_key: string;
  sent_at: DefaultedTimestamp;
}

/** The tables Kysely knows, by their SQL names. */
export interface Database {
  accounts: AccountsTable;
  sessions: SessionsTable;
  admin_page_sessions: AdminPageSessionsTable;
  email_verifications: EmailVerificationsTable;
  workspaces: WorkspacesTable;
  workspace_members: WorkspaceMembersTable;
  onboarding_progress: OnboardingProgressTable;
  invitations: InvitationsTable;
  idempotency_keys: IdempotencyKeysTable;
  rate_limits: RateLimitsTable;
  audit_events: AuditEventsTable;
  trial_notifications: TrialNotificationsTable;
  signup_flows: SignupFlowsTable;
  signup_flow_tokens: SignupFlowTokensTable;
  profiles: ProfilesTable;
  signup_leads: SignupLeadsTable;
  billing_customers: BillingCustomersTable;
  payment_methods: PaymentMethodsTable;
  subscriptions: SubscriptionsTable;
  billing_sagas: BillingSagasTable;
  billing_saga_steps: BillingSagaStepsTable;
  gateway_events: GatewayEventsTable;
  local_gateway_objects: LocalGatewayObjectsTable;
  local_gateway_requests: LocalGatewayRequestsTable;
  event_sequences: EventSequencesTable;
  events: EventsTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
  worker_heartbeats: WorkerHeartbeatsTable;
  email_deliveries: EmailDeliveriesTable;
}
