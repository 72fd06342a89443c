-- CryptoLens Edge, Postgres dialect. 0008: the provider `updated_at` of the newest event
-- applied to a payment (docs/billing.md §4, cl_billing::PaymentRecord::last_event_at). It
-- orders the non-status fields (`actually_paid`); status ordering does not depend on it.

ALTER TABLE payments ADD COLUMN provider_updated_at BIGINT;
