// cardline agent console: capturing (in full or in part), voiding or reauthorizing the
// authorization shown in the detail.
import { api, retryable } from "./api.js";
import { amountProblem, decimalsOf, fromMinor, toMinor } from "./checks.js";
import { $, announce, busy, clearErrors, maskedCard, setError, showMessage, showProblem } from "./dom.js";
import { holds, onSignOut } from "./session.js";

const CAPTURE_FIELDS = { amount: "capture-amount" };
const OPEN = ["authorized", "partially_captured"];

let shownPayment = null;
// Idempotency-Keys of unfinished attempts, by request: the identical request again (a
// retry after a lost answer) reuses its key, so it cannot capture or void twice.
let attempts = new Map();
let afterAction = async () => {};

function remainingMinor(payment) {
  const decimals = decimalsOf(payment.currency);
  return toMinor(payment.amount, decimals) - toMinor(payment.captured_amount || "0", decimals);
}

// The detail shows `payment`: its capture form, if it is an authorization still open.
export function prepareCapture(payment) {
  if (!shownPayment || shownPayment.id !== payment.id) attempts = new Map();
  shownPayment = payment;
  const form = $("capture-form");
  // Captures, voids and reauthorizations are a supervisor's: an agent's detail has none.
  form.hidden = !(payment.intent === "AUTHORIZE" && OPEN.includes(payment.status) && holds("supervisor"));
  form.reset();
  clearErrors(form);
  // PayPal reauthorizes once, after its 3-day honour period, before anything is captured.
  $("reauthorize-submit").hidden = !(payment.status === "authorized" && !payment.reauthorization_id
    && payment.authorization_honoured_until && new Date(payment.authorization_honoured_until) < new Date());
  $("capture-remaining").textContent =
    `${fromMinor(remainingMinor(payment), decimalsOf(payment.currency))} ${payment.currency}`;
  showMessage("capture-outcome", "");
}

function keyFor(request) {
  if (!attempts.has(request)) attempts.set(request, crypto.randomUUID());
  return attempts.get(request);
}

async function act(button, path, body, done) {
  const payment = shownPayment;
  const request = `${path} ${JSON.stringify(body ?? null)}`;
  const answer = await busy(button, () => api(
    "POST", `/v1/payments/${encodeURIComponent(payment.id)}/${path}`, body, keyFor(request)));
  if (!answer || answer.status === 401) return;
  if (answer.ok) {
    attempts.delete(request);
    const message = done(answer.data, payment);
    await afterAction(payment.id);
    showMessage("capture-outcome", message);
    announce(message);
    return;
  }
  if (!retryable(answer)) attempts.delete(request);
  const detail = showProblem(answer.problem, CAPTURE_FIELDS, "capture-error");
  if (retryable(answer)) {
    showMessage("capture-error", `${detail} Press the button again to retry: the retry cannot do it twice.`);
  }
  announce(`Not done: ${detail}`);
}

function capture(event) {
  event.preventDefault();
  if (!shownPayment) return;
  clearErrors($("capture-form"));
  const amount = $("capture-amount").value.trim();
  if (amount) {
    const problem = amountProblem(amount, shownPayment.currency, remainingMinor(shownPayment));
    if (problem) {
      setError("capture-amount", problem);
      $("capture-amount").focus();
      return;
    }
  }
  const body = amount ? { amount, final_capture: $("capture-final").checked } : undefined;
  act($("capture-submit"), "capture", body, (data, payment) =>
    `Captured ${data.amount} ${data.currency} from ${maskedCard(payment)}.`);
}

function voidRest() {
  if (!shownPayment) return;
  clearErrors($("capture-form"));
  act($("void-submit"), "void", undefined, (_data, payment) =>
    `Voided: what was left of the authorization on ${maskedCard(payment)} is released.`);
}

function reauthorize() {
  if (!shownPayment) return;
  clearErrors($("capture-form"));
  act($("reauthorize-submit"), "reauthorize", undefined, (_data, payment) =>
    `Reauthorized: PayPal honours the amount on ${maskedCard(payment)} for 3 more days.`);
}

function forget() {
  shownPayment = null;
  attempts = new Map();
  $("capture-form").reset();
  clearErrors($("capture-form"));
}

// `reload(paymentId)` shows the payment again once a capture or void is made.
export function wireCapture(reload) {
  afterAction = reload;
  $("capture-form").addEventListener("submit", capture);
  $("void-submit").addEventListener("click", voidRest);
  $("reauthorize-submit").addEventListener("click", reauthorize);
  onSignOut(forget);
}
