// cardline agent console: refunding the payment shown in the detail, after a confirmation.
import { api, retryable } from "./api.js";
import { amountProblem, decimalsOf, fromMinor, toMinor } from "./checks.js";
import {
  $, announce, busy, clearErrors, maskedCard, setError, showMessage, showProblem, words,
} from "./dom.js";
import { holds, onSignOut } from "./session.js";

const REFUND_FIELDS = { amount: "refund-amount" };

let shownPayment = null; // the payment in the detail panel
// Idempotency-Keys of the shown payment's unfinished refund attempts, by request body: the
// identical request again (a retry after a lost answer) reuses its key, so it cannot
// refund twice; another amount is another request with a key of its own (the service
// refuses a key reused with another amount or note: 409 idempotency_conflict).
let refundAttempts = new Map();
let afterRefund = async () => {};

function remainingMinor(payment) {
  const decimals = decimalsOf(payment.currency);
  return toMinor(payment.amount, decimals) - toMinor(payment.refunded_amount || "0", decimals);
}

// The detail shows `payment`: its refund form, if anything is left to refund.
export function prepareRefund(payment) {
  if (!shownPayment || shownPayment.id !== payment.id) refundAttempts = new Map();
  shownPayment = payment;
  const remaining = remainingMinor(payment);
  const refundable = ["approved", "partially_refunded", "captured", "partially_captured"]
    .includes(payment.status) && remaining > 0;
  const form = $("refund-form");
  // Refunds are a supervisor's: an agent's detail has no refund form at all.
  form.hidden = !refundable || !holds("supervisor");
  form.reset();
  clearErrors(form);
  $("refund-amount").disabled = true;
  $("refund-confirm").hidden = true;
  $("refund-submit").hidden = false;
  $("refund-remaining").textContent = `${fromMinor(remaining, decimalsOf(payment.currency))} ${payment.currency}`;
  showMessage("refund-outcome", "");
}

function refundChoice() {
  const partial = $("refund-partial").checked;
  const decimals = decimalsOf(shownPayment.currency);
  const amount = partial ? $("refund-amount").value.trim() : fromMinor(remainingMinor(shownPayment), decimals);
  return { partial, amount };
}

// Step one: check the amount, then ask for confirmation.
function askRefund(event) {
  event.preventDefault();
  if (!shownPayment || $("refund-confirm-yes").getAttribute("aria-busy") === "true") return;
  clearErrors($("refund-form"));
  showMessage("refund-outcome", "");
  const { partial, amount } = refundChoice();
  if (partial) {
    const problem = amountProblem(amount, shownPayment.currency, remainingMinor(shownPayment));
    if (problem) {
      setError("refund-amount", problem);
      $("refund-amount").focus();
      return;
    }
  }
  $("refund-confirm-text").textContent =
    `Refund ${amount} ${shownPayment.currency} to ${maskedCard(shownPayment)}? This cannot be undone.`;
  $("refund-submit").hidden = true;
  $("refund-confirm").hidden = false;
  $("refund-confirm-yes").focus();
}

function cancelRefund() {
  $("refund-confirm").hidden = true;
  $("refund-submit").hidden = false;
  $("refund-submit").focus();
}

// Step two: the agent confirmed.
async function confirmRefund() {
  if (!shownPayment) return;
  const { partial, amount } = refundChoice();
  const payment = shownPayment;
  const body = partial ? { amount } : undefined;
  const request = JSON.stringify(body ?? null);
  if (!refundAttempts.has(request)) refundAttempts.set(request, crypto.randomUUID());
  const answer = await busy($("refund-confirm-yes"), () => api(
    "POST", `/v1/payments/${encodeURIComponent(payment.id)}/refunds`, body, refundAttempts.get(request)));
  if (!answer || answer.status === 401) return;
  if (answer.ok) {
    refundAttempts.delete(request); // done: the same amount again is a new refund
    const message = `Refunded ${answer.data.amount} ${answer.data.currency} to ${maskedCard(payment)} (${words(answer.data.status)}).`;
    await afterRefund(payment.id); // the detail and its row in the list, as they are now
    showMessage("refund-outcome", message);
    announce(message);
    return;
  }
  if (!retryable(answer)) refundAttempts.delete(request); // refused as sent
  const retry = retryable(answer)
    ? " Confirm again to retry: the retry cannot refund twice. Another amount is another refund."
    : "";
  cancelRefund();
  if (!retry && answer.problem.field === "amount") {
    $("refund-partial").checked = true;
    $("refund-amount").disabled = false;
  }
  announce(`Not refunded: ${showProblem(answer.problem, REFUND_FIELDS, "refund-error")}`);
  if (retry) showMessage("refund-error", `${answer.problem.detail || "The service did not answer."}${retry}`);
}

function forget() {
  shownPayment = null;
  refundAttempts = new Map();
  $("refund-form").reset();
  clearErrors($("refund-form"));
}

// `reload(paymentId)` shows the payment again once a refund is made.
export function wireRefund(reload) {
  afterRefund = reload;
  $("refund-form").addEventListener("submit", askRefund);
  for (const id of ["refund-full", "refund-partial"]) {
    $(id).addEventListener("change", () => {
      $("refund-amount").disabled = !$("refund-partial").checked;
      if ($("refund-partial").checked) $("refund-amount").focus();
    });
  }
  $("refund-confirm-yes").addEventListener("click", confirmRefund);
  $("refund-confirm-no").addEventListener("click", cancelRefund);
  onSignOut(forget);
}
