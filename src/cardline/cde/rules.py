"""The merchant's rules: what cardline does with a card PayPal approved but whose security
code or billing address did not match, and with an amount above an operator role's cap.

One JSON document per deployment, in ``CARDLINE_RULES`` (the document itself) or in the
file ``CARDLINE_RULES_FILE`` names (docs/payments.md)::

    {"cvv_mismatch": "refuse", "avs_no_match": "flag",
     "above_cap": "refuse", "caps": {"agent": {"USD": "500.00"}}}

``cvv_mismatch`` / ``avs_no_match``: ``off`` (the default), ``flag`` (take the payment and
say so on the receipt) or ``refuse``. When either is on, cardline asks PayPal for an
authorization first, reads PayPal's ``cvv_code`` and ``avs_code``, then captures it or
voids it itself: a refused card is never captured. ``caps``: per operator role, per
currency, the most one payment may be; ``above_cap`` says whether a payment over it is
refused before PayPal is asked (``refuse``, the default) or taken and flagged (``flag``).

Standard library only: this module is on the charge path.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation

from cardline.cde.errors import InvalidRequest
from cardline.cde.paypal.codes import AVS_NO_MATCH, CVV_NO_MATCH, avs_words, cvv_words

TYPE_CHECKING = False  # typing stays unimported on the charge path (cold start)
if TYPE_CHECKING:
    from collections.abc import Mapping

    from cardline.cde.money import Money

__all__ = [
    "DEFAULT_ROLE",
    "AmountAboveCap",
    "Checked",
    "MerchantRules",
    "rules_from_environment",
]

DEFAULT_ROLE = "agent"  # an operator with no role of record
_ACTIONS = ("off", "flag", "refuse")
_FIELDS = frozenset({"cvv_mismatch", "avs_no_match", "above_cap", "caps"})

# What the agent is told when a rule refuses a card PayPal authorized.
CVV_REFUSED = "The security code did not match"
AVS_REFUSED = "The billing address and postal code did not match"
VOIDED = (
    "cardline's rules refuse such a card, so the authorization was voided and the card was "
    "not charged. Check the details with the caller or ask for another card."
)


class AmountAboveCap(InvalidRequest):
    """The amount is above what the operator's role may take (the rules' ``caps``)."""

    code = "amount_above_cap"
    title = "The amount is above this operator's cap"


class Checked:
    """What the rules made of PayPal's answer: sentences refusing the card, sentences
    flagging it (both empty when nothing matched)."""

    __slots__ = ("flags", "refusals")

    def __init__(self, refusals: list[str], flags: list[str]) -> None:
        self.refusals = refusals
        self.flags = flags


class MerchantRules:
    """One deployment's rules (see the module docstring); immutable after parsing."""

    __slots__ = ("above_cap", "avs_no_match", "caps", "cvv_mismatch")

    def __init__(
        self,
        cvv_mismatch: str = "off",
        avs_no_match: str = "off",
        above_cap: str = "refuse",
        caps: Mapping[str, Mapping[str, Decimal]] | None = None,
    ) -> None:
        self.cvv_mismatch = cvv_mismatch
        self.avs_no_match = avs_no_match
        self.above_cap = above_cap
        self.caps = dict(caps or {})

    @property
    def authorize_first(self) -> bool:
        """True when PayPal's answer must be checked before the card is charged."""
        return self.cvv_mismatch != "off" or self.avs_no_match != "off"

    @classmethod
    def parse(cls, text: str) -> MerchantRules:
        """The rules of a JSON document; ValueError naming what is wrong."""
        try:
            document = json.loads(text)
        except ValueError:
            raise ValueError("the merchant rules are not a JSON document") from None
        if not isinstance(document, dict) or not set(document) <= _FIELDS:
            raise ValueError("the merchant rules hold only: " + ", ".join(sorted(_FIELDS)))
        actions = {}
        for name, default in (("cvv_mismatch", "off"), ("avs_no_match", "off")):
            actions[name] = document.get(name, default)
            if actions[name] not in _ACTIONS:
                raise ValueError(f"{name} must be one of: {', '.join(_ACTIONS)}")
        above = document.get("above_cap", "refuse")
        if above not in ("flag", "refuse"):
            raise ValueError("above_cap must be flag or refuse")
        caps: dict[str, dict[str, Decimal]] = {}
        raw_caps = document.get("caps", {})
        shape = "caps must map a role to {currency: amount}"
        if not isinstance(raw_caps, dict):
            raise ValueError(shape)
        for role, by_currency in raw_caps.items():
            if not isinstance(by_currency, dict):
                raise ValueError(shape)
            caps[role] = {}
            for currency, amount in by_currency.items():
                try:
                    cap = Decimal(amount) if isinstance(amount, str) else None
                except InvalidOperation:
                    cap = None
                if cap is None or not cap.is_finite() or cap < 0:
                    raise ValueError(f"the cap of {role} in {currency} must be a decimal string")
                caps[role][currency] = cap
        return cls(actions["cvv_mismatch"], actions["avs_no_match"], above, caps)

    def check_amount(self, money: Money, role: str | None) -> list[str]:
        """Flags for ``money`` taken by an operator of ``role`` (``agent`` when None);
        raises AmountAboveCap when the rules refuse it."""
        role = role or DEFAULT_ROLE
        cap = self.caps.get(role, {}).get(money.currency)
        if cap is None or money.amount <= cap:
            return []
        words = f"The amount is above the {role} cap of {cap} {money.currency}"
        if self.above_cap == "refuse":
            raise AmountAboveCap(
                words + ": nothing was charged. Ask a supervisor to take this payment.",
                field="amount",
            )
        return [words]

    def check_answer(self, avs_code: str | None, cvv_code: str | None) -> Checked:
        """What the rules say of PayPal's address and security-code checks."""
        refusals: list[str] = []
        flags: list[str] = []
        for action, failed, words in (
            (self.cvv_mismatch, cvv_code in CVV_NO_MATCH, f"{CVV_REFUSED} ({cvv_words(cvv_code)})"),
            (
                self.avs_no_match,
                avs_code in AVS_NO_MATCH,
                f"{AVS_REFUSED} ({avs_words(avs_code)})",
            ),
        ):
            if failed and action == "refuse":
                refusals.append(words)
            elif failed and action == "flag":
                flags.append(words)
        return Checked(refusals, flags)


def rules_from_environment(environ: Mapping[str, str]) -> MerchantRules | None:
    """The deployment's rules: ``CARDLINE_RULES`` (the JSON itself) or the file
    ``CARDLINE_RULES_FILE`` names; None when neither is set. ValueError when they are not
    valid: a deployment with broken rules must not start taking payments without them."""
    text = environ.get("CARDLINE_RULES")
    path = environ.get("CARDLINE_RULES_FILE")
    if not text and path:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    return MerchantRules.parse(text) if text else None
