"""PayPal webhooks: what PayPal tells cardline after the first answer (a pending capture
completing, a reversal, a dispute), verified before it is believed.

``notification`` reads a delivery (its transmission headers and raw body) and builds the
request PayPal's ``verify-webhook-signature`` needs; ``events`` turns a verified event
into the fact it reports. Nothing here sees card data: events carry ids and amounts.
"""
