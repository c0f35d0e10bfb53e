// cardline agent console: taking a card payment, and its receipt.
//
// Card data rules this module keeps: card values live only in their inputs until a submit
// sends them as a JSON body over fetch; the inputs are emptied after every submit and
// when the page is left; nothing goes to localStorage, sessionStorage, cookies, the URL
// or the history.
import { api, retryable } from "./api.js";
import {
  digitsOf,
  detectBrand,
  cardNumberProblem,
  parseExpiry,
  expiryProblem,
  grouped,
  securityCodeProblem,
  containsCardNumber,
  amountProblem,
} from "./checks.js";
import {
  $, ID, announce, busy, clearErrors, fillFacts, maskedCard, setError, showMessage,
  showProblem, showProblems, statusWords, when, words,
} from "./dom.js";
import { showPayment } from "./payments.js";
import { onSignOut, recordTaken } from "./session.js";

const CARD_INPUTS = ["card-number", "card-expiry", "card-cvv", "card-name", "card-postal-code"];
// Where a problem's "field" is shown.
const PAY_FIELDS = {
  amount: "amount",
  currency: "currency",
  reference: "reference",
  "card.number": "card-number",
  "card.expiry": "card-expiry",
  "card.security_code": "card-cvv",
  "card.name": "card-name",
  "card.billing_address.postal_code": "card-postal-code",
  "card.billing_address.country_code": "card-country",
};

let payAttempt = null; // Idempotency-Key of the payment attempt in progress
let lastReceipt = null;

export function clearCardFields() {
  for (const id of CARD_INPUTS) $(id).value = "";
  updateBrand();
}

function codeLength() {
  const brand = detectBrand(digitsOf($("card-number").value));
  return brand ? brand.codeLength : 3;
}

function updateBrand() {
  const digits = digitsOf($("card-number").value);
  const brand = /^\d+$/.test(digits) ? detectBrand(digits) : null;
  const length = brand ? brand.codeLength : 3;
  $("card-brand").textContent = brand ? brand.name : digits ? "Brand not known" : "Brand: not known yet";
  $("card-brand").classList.toggle("known", Boolean(brand));
  $("card-cvv").maxLength = length;
  $("card-cvv-hint").textContent = length === 4 ? "4 digits, on the front of the card" : "3 digits";
  return brand;
}

// Feedback as the agent types: the check digit once the number is as long as its brand's
// usual length, the expiry once it looks complete; the rest on leaving a field or on submit.
function onNumberInput() {
  const input = $("card-number");
  const brand = updateBrand();
  const digits = digitsOf(input.value);
  // Grouped as printed on the card, unless the agent is editing in the middle.
  if (input.selectionStart === input.value.length && /^\d*$/.test(digits)) {
    input.value = grouped(digits, brand);
  }
  if (digits.length >= (brand ? brand.usual : 16)) {
    setError("card-number", cardNumberProblem(input.value));
  } else if (input.hasAttribute("aria-invalid")) {
    setError("card-number", null);
  }
}

function onExpiryInput() {
  const text = $("card-expiry").value;
  if (/^\d{2}\s*\/?\s*\d{2}$/.test(text.trim())) setError("card-expiry", expiryProblem(text));
  else if ($("card-expiry").hasAttribute("aria-invalid")) setError("card-expiry", null);
}

// Not when leaving for a button: the submit checks everything anyway, and a message
// appearing under the pointer would move the button away from the click.
export function checkOnLeave(inputId, problemOf) {
  $(inputId).addEventListener("blur", (event) => {
    if (event.relatedTarget instanceof HTMLButtonElement) return;
    const value = $(inputId).value;
    if (value) setError(inputId, problemOf(value));
  });
}

function payProblems() {
  const currency = $("currency").value;
  const reference = $("reference").value.trim();
  const problems = [
    ["amount", amountProblem($("amount").value, currency)],
    ["card-number", cardNumberProblem($("card-number").value)],
    ["card-expiry", expiryProblem($("card-expiry").value)],
    ["card-cvv", securityCodeProblem($("card-cvv").value.trim(), codeLength())],
    ["card-name", $("card-name").value.trim() ? null : "Enter the name on the card."],
    ["reference", containsCardNumber(reference) ? "A reference must not hold a card number." : null],
    ["card-country", /^[A-Z]{2}$/.test($("card-country").value.trim().toUpperCase()) || !$("card-postal-code").value.trim()
      ? null : "Enter the billing country as two letters, e.g. US."],
  ];
  return problems.filter(([, message]) => message);
}

function paymentBody() {
  const expiry = parseExpiry($("card-expiry").value);
  const body = {
    amount: $("amount").value.trim(),
    currency: $("currency").value,
    card: {
      number: digitsOf($("card-number").value),
      expiry: `${String(expiry.month).padStart(2, "0")}/${expiry.year}`,
      security_code: $("card-cvv").value.trim(),
      name: $("card-name").value.trim(),
    },
  };
  const postalCode = $("card-postal-code").value.trim();
  if (postalCode) {
    body.card.billing_address = {
      postal_code: postalCode, country_code: $("card-country").value.trim().toUpperCase(),
    };
  }
  if ($("authorize-only").checked) body.intent = "AUTHORIZE";
  const reference = $("reference").value.trim();
  if (reference) body.reference = reference;
  return body;
}

async function takePayment(event) {
  event.preventDefault();
  const button = $("pay-submit");
  if (button.getAttribute("aria-busy") === "true") return; // one charge in flight at most
  clearErrors($("pay-form"));
  if (showProblems(payProblems())) return;
  $("receipt").hidden = true; // the last call's receipt must not pass for this one's
  payAttempt = payAttempt || crypto.randomUUID();
  const body = paymentBody();
  clearCardFields(); // as soon as the body is made, whatever the answer
  const answer = await busy(button, () => api("POST", "/v1/payments", body, payAttempt), "Charging…");
  if (answer.ok) {
    payAttempt = null;
    $("amount").value = "";
    $("reference").value = "";
    showReceipt(answer.data);
    return;
  }
  if (answer.status === 401) return;
  if (retryable(answer)) {
    const detail = answer.problem.detail || "The service did not answer.";
    showMessage("pay-error", `${detail} Key the card again and press Charge card to retry: ` +
      "the retry reuses this attempt, so the card cannot be charged twice.");
    $("card-number").focus();
    announce(`Not finished: ${detail}`);
    return;
  }
  payAttempt = null; // refused as sent: the next submit is a new attempt
  announce(`Not charged: ${showProblem(answer.problem, PAY_FIELDS, "pay-error")}`);
  if (!answer.problem.field || !PAY_FIELDS[answer.problem.field]) $("card-number").focus();
}

function outcomeLine(payment) {
  const status = statusWords(payment.status);
  if (payment.status === "approved") return `${status}: ${payment.amount} ${payment.currency} charged.`;
  if (payment.decline_reason) {
    const code = payment.decline_code ? ` (code ${payment.decline_code})` : "";
    return `${status}: ${words(payment.decline_reason)}${code}.`;
  }
  return `${status}.`;
}

function showReceipt(payment) {
  lastReceipt = payment;
  recordTaken(payment);
  const box = $("receipt");
  const outcome = $("receipt-outcome");
  outcome.textContent = outcomeLine(payment);
  outcome.dataset.status = payment.status;
  fillFacts($("receipt-fields"), [
    ["Confirmation code", payment.confirmation_code, "code"],
    ["Card", maskedCard(payment)],
    ["Amount", `${payment.amount} ${payment.currency}`],
    ["Status", statusWords(payment.status)],
    ["Reason", payment.status === "approved" ? null : payment.message],
    ["Address check", payment.avs_result],
    ["Security code check", payment.cvv_result],
    ["Flagged", payment.flags],
    ["Reference", payment.reference],
    ["Payment id", payment.id, ID],
    ["Time (UTC)", when(payment.created_at)],
  ]);
  box.hidden = false;
  box.focus();
  const code = payment.confirmation_code ? ` Confirmation code ${payment.confirmation_code}.` : "";
  announce(`${outcomeLine(payment)} ${maskedCard(payment)}.${code}`);
}

function newPayment() {
  $("pay-form").reset();
  clearErrors($("pay-form"));
  clearCardFields();
  payAttempt = null;
  $("receipt").hidden = true;
  $("amount").focus();
}

function forget() {
  payAttempt = null;
  lastReceipt = null;
  clearCardFields();
  $("pay-form").reset();
  clearErrors($("pay-form"));
  showMessage("pay-error", "");
  $("receipt").hidden = true;
}

export function wirePay() {
  $("pay-form").addEventListener("submit", takePayment);
  $("pay-clear").addEventListener("click", newPayment);
  $("card-number").addEventListener("input", onNumberInput);
  $("card-expiry").addEventListener("input", onExpiryInput);
  checkOnLeave("card-number", cardNumberProblem);
  checkOnLeave("card-expiry", expiryProblem);
  checkOnLeave("card-cvv", (v) => securityCodeProblem(v.trim(), codeLength()));
  checkOnLeave("amount", (v) => amountProblem(v, $("currency").value));
  $("receipt-new").addEventListener("click", newPayment);
  $("receipt-view").addEventListener("click", (event) =>
    lastReceipt && busy(event.currentTarget, () => showPayment(lastReceipt.id)));
  $("receipt-print").addEventListener("click", () => window.print());
  // Leaving the page (closing, reloading, going elsewhere) empties the card fields first,
  // so the back-forward cache never holds them.
  window.addEventListener("pagehide", clearCardFields);
  window.addEventListener("beforeunload", clearCardFields);
  clearCardFields();
  onSignOut(forget);
}
