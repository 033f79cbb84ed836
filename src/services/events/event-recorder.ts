import { randomUUID } from 'node:crypto';
import type { Tx } from '../../db/database.js';
import type { EventInsert, EventRepository, RecordedEvent } from '../../repositories/events/event-repository.js';
import type { NewEvent } from './catalogue.js';

/**
 * Work that an event brings about in the same transaction (an onboarding step it proves). It runs
 * before the event is inserted and returns further events to record after it, so a follow-up takes
 * its locks in the same order as the API path does (progress row, then the sequence counter).
 */
export type EventReaction = (trx: Tx, event: NewEvent) => Promise<NewEvent[]>;

/** The longest chain of reactions followed; configuration cannot make reactions loop past it. */
const MAX_REACTION_DEPTH = 5;

/**
 * The one way to emit an event: `events.record(trx, {type, workspaceId, data})` inside the
 * transaction of the change it describes. The event, its per-workspace sequence number, a delivery
 * row and a delivery job for each subscribed endpoint commit with the change, or not at all.
 */
export class EventRecorder {
  private readonly reactions = new Map<string, EventReaction[]>();

  constructor(private readonly events: EventRepository) {}

  /** Records the events (and what reactions to them add) in ONE statement, in order. */
  async record(trx: Tx, ...events: NewEvent[]): Promise<RecordedEvent[]> {
    const all = await this.withReactions(trx, events, 0);
    return this.events.withTx(trx).insert(all.map(withId));
  }

  /** Adds a reaction to every event of `type`. */
  on(type: string, reaction: EventReaction): void {
    this.reactions.set(type, [...(this.reactions.get(type) ?? []), reaction]);
  }

  /** Whether any of these events has a reaction (callers that insert events themselves then run them). */
  hasReactions(events: readonly { type: string }[]): boolean {
    return events.some((event) => this.reactions.has(event.type));
  }

  /**
   * For statements that insert their events themselves (see recordEventsCtes): runs the reactions to
   * events already inserted in `trx` and records what they add.
   */
  async react(trx: Tx, inserted: readonly NewEvent[]): Promise<void> {
    const added: NewEvent[] = [];
    for (const event of inserted) added.push(...(await this.reactTo(trx, event, 0)));
    await this.events.withTx(trx).insert(added.map(withId));
  }

  /** Ids chosen beforehand, for statements that insert events themselves. */
  prepare(...events: NewEvent[]): EventInsert[] {
    return events.map(withId);
  }

  private async withReactions(trx: Tx, events: readonly NewEvent[], depth: number): Promise<NewEvent[]> {
    const out: NewEvent[] = [];
    for (const event of events) out.push(event, ...(await this.reactTo(trx, event, depth)));
    return out;
  }

  private async reactTo(trx: Tx, event: NewEvent, depth: number): Promise<NewEvent[]> {
    const reactions = this.reactions.get(event.type);
    if (!reactions || depth >= MAX_REACTION_DEPTH) return [];
    const added: NewEvent[] = [];
    for (const reaction of reactions) added.push(...(await reaction(trx, event)));
    return this.withReactions(trx, added, depth + 1);
  }
}

function withId(event: NewEvent): EventInsert {
  return { id: randomUUID(), type: event.type, workspaceId: event.workspaceId, data: event.data };
}
