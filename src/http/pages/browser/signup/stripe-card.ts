/// <reference lib="dom" />
import type { FieldErrorsView } from './field-errors.js';

/** The few Stripe.js calls the payment step makes (https://docs.stripe.com/js). */
interface StripeJs {
  elements(): { create(type: 'card'): StripeCardElement };
  createPaymentMethod(input: { type: 'card'; card: StripeCardElement }): Promise<{ paymentMethod?: { id: string }; error?: { message?: string } }>;
  confirmCardSetup(clientSecret: string): Promise<{ error?: { message?: string } }>;
}
interface StripeCardElement {
  mount(selector: string): void;
}

/**
 * The payment step with Stripe Elements (STRIPE_PUBLISHABLE_KEY set): the card is typed into Stripe's
 * own frame and turned into a payment-method id there, so no card number or CVC ever reaches this
 * page's code or the service. Not exercised by the tests, which run offline with the local gateway.
 */
export class StripeCard {
  #stripe: StripeJs | undefined;
  #card: StripeCardElement | undefined;

  constructor(
    private readonly publishableKey: string,
    private readonly scriptUrl: string,
    private readonly errors: FieldErrorsView,
  ) {}

  /** Loads Stripe.js (allowed by this page's CSP only when a key is set) and mounts the card field once. */
  async mount(): Promise<void> {
    if (this.#card) return;
    await new Promise<void>((resolve, reject) => {
      const script = document.createElement('script');
      script.src = this.scriptUrl;
      script.onload = () => resolve();
      script.onerror = () => reject(new Error('Stripe.js could not be loaded.'));
      document.head.append(script);
    });
    this.#stripe = (globalThis as unknown as { Stripe: (key: string) => StripeJs }).Stripe(this.publishableKey);
    this.#card = this.#stripe.elements().create('card');
    this.#card.mount('#field-card-element');
  }

  /** The card as a payment-method id, or undefined with Stripe's message on the card field. */
  async paymentMethodId(): Promise<string | undefined> {
    if (!this.#stripe || !this.#card) return undefined;
    const { paymentMethod, error } = await this.#stripe.createPaymentMethod({ type: 'card', card: this.#card });
    this.errors.set('card-element', error?.message);
    return paymentMethod?.id;
  }

  /** 3-D Secure: Stripe shows the bank's challenge; true once the card is confirmed. */
  async authenticate(clientSecret: string): Promise<boolean> {
    const { error } = await this.#stripe!.confirmCardSetup(clientSecret);
    this.errors.set('card-element', error?.message);
    return !error;
  }
}
