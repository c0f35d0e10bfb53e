"""IVR card payments through Amazon Connect: the caller keys the digits, no agent hears them.

Connect's "Store customer input" block encrypts each keyed field with the AWS Encryption
SDK to a public key we gave it; the ``ivr`` Lambda (:mod:`cardline.ivr.lambda_handler`)
decrypts them, validates, and charges through the same :class:`~cardline.cde.charge.Charger`
as the API. :mod:`cardline.ivr.simulator` plays caller and Connect against the local stack.

Modules: ``envelope`` (reading an encrypted message's header), ``decrypt`` and ``keys``
(the private side), ``encrypt`` (Connect's side, for the simulator), ``connect`` (the
handler), ``sessions`` (agent-assisted payments), ``routes`` (the local stand-ins),
``flow`` (the contact flow file), ``simulator``, ``scenarios`` and ``call`` (the command).
"""
