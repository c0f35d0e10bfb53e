"""The card numbers and security codes the suite uses: the leak scan looks for every one."""

from __future__ import annotations

from datetime import date

VISA = "4012888888881881"
VISA_2 = "4005519200000004"
MASTERCARD = "2223000048400011"
AMEX = "371449635398431"
DISCOVER = "6011111111111117"
MISTYPED_VISA = "4012888888881882"  # fails Luhn: must not be echoed either
# The emulator approves it but answers cvv_code N (the security code did not match).
VISA_CVV_MISMATCH = "4111111111111111"

CVV = "123"
AMEX_CVV = "1234"

TEST_PANS = (VISA, VISA_2, MASTERCARD, AMEX, DISCOVER, MISTYPED_VISA, VISA_CVV_MISMATCH)
TEST_CVVS = (CVV, AMEX_CVV)


def future_expiry(years: int = 3) -> str:
    """An expiry as MM/YY a few years ahead, so the suite does not age."""
    return f"12/{(date.today().year + years) % 100:02d}"


def payment(
    number: str = VISA,
    *,
    amount: str = "12.50",
    currency: str = "USD",
    code: str = CVV,
    name: str = "Ada Lovelace",
    reference: str | None = "order-1",
    expiry: str | None = None,
) -> dict[str, object]:
    body: dict[str, object] = {
        "amount": amount,
        "currency": currency,
        "card": {
            "number": number,
            "expiry": expiry or future_expiry(),
            "security_code": code,
            "name": name,
        },
    }
    if reference is not None:
        body["reference"] = reference
    return body
