// cardline agent console: a keypad (IVR) payment: the caller keys the card, the agent
// follows the outcome.
//
// No card data ever passes through this part of the page: the agent sends the payment's
// terms and the caller's contact id (POST /v1/ivr/sessions), puts the answer's contact
// attributes on the contact, and the page asks GET /v1/ivr/sessions/{id} until the
// session is decided (brand and last four digits at most), ticking off meanwhile which
// fields the caller has keyed (the session's `progress`, never the digits).
import { api, retryable } from "./api.js";
import { amountProblem, containsCardNumber, contactIdOf, contactIdProblem } from "./checks.js";
import {
  $, ID, announce, busy, clearErrors, fillFacts, maskedCard, showMessage, showProblem,
  showProblems, when, words,
} from "./dom.js";
import { checkOnLeave } from "./pay.js";
import { showPayment } from "./payments.js";
import { onSignOut, recordTaken } from "./session.js";

let ivrSession = null; // the keypad payment the agent is following: { id, deadline, timer }
let ivrUnavailable = false; // this service has no IVR payment sessions (config or a 404)

const IVR_FIELDS = {
  contact_id: "ivr-contact",
  amount: "ivr-amount",
  currency: "ivr-currency",
  reference: "ivr-reference",
  cardholder_name: "ivr-name",
};
// Following a keypad payment: ask every 2 seconds, for 5 minutes at most.
const IVR_POLL_MS = 2000;
const IVR_POLL_LIMIT_MS = 5 * 60 * 1000;
const IVR_WORDS = {
  waiting: "Waiting for the caller to key the card…",
  approved: "Approved",
  declined: "Declined",
  failed: "Failed: nothing was charged",
  unknown: "Outcome not known yet",
  abandoned: "Abandoned: the caller did not finish keying the card; nothing was charged",
};

// The session's `progress` in keying order (sessions.PROGRESS): which fields the caller
// has keyed (never what), then charging. A re-prompt moves it back to the field asked again.
const IVR_PROGRESS = ["waiting", "card_number_entered", "expiry_entered", "security_code_entered", "charging"];
const IVR_STEP_WORDS = { done: "done", current: "in progress", todo: "not yet", missed: "not reached" };
const IVR_OUTCOME_WORDS = {
  approved: "approved", declined: "declined", failed: "failed: nothing was charged",
  unknown: "not known yet", abandoned: "abandoned: nothing was charged", pending: "pending",
};
const IVR_STEP_NAMES = {
  card_number_entered: "Card number entered", expiry_entered: "Expiry date entered",
  security_code_entered: "Security code entered", charging: "Charging the card",
};

function setStep(step, state, words) {
  const item = $(`ivr-step-${step}`);
  item.dataset.state = state;
  if (state === "current") item.setAttribute("aria-current", "step");
  else item.removeAttribute("aria-current");
  item.querySelector(".state").textContent = words || IVR_STEP_WORDS[state];
}

// The checklist: each field keyed ticked, charging while it runs, then the outcome.
function showIvrProgress(session) {
  const reached = Math.max(0, IVR_PROGRESS.indexOf(session.progress));
  const decided = session.status !== "waiting";
  IVR_PROGRESS.slice(1).forEach((step, index) => {
    const position = index + 1;
    if (position < reached || (position === reached && (decided || step !== "charging"))) {
      setStep(step, "done");
    } else if (position === reached) {
      setStep(step, "current");
    } else {
      setStep(step, decided ? "missed" : "todo");
    }
  });
  if (decided) setStep("outcome", "done", IVR_OUTCOME_WORDS[session.status] || words(session.status));
  else setStep("outcome", "todo");
}

// What changed since the last poll, for the live region: the step reached, in words.
function progressNews(before, session) {
  if (session.status !== "waiting" || session.progress === before) return null;
  if (session.progress === "charging") return "Charging the card…";
  return IVR_STEP_NAMES[session.progress] ? `${IVR_STEP_NAMES[session.progress]}.` : null;
}

export function markIvrUnavailable() {
  ivrUnavailable = true;
  $("ivr-unavailable").hidden = false;
  $("ivr-form").hidden = true;
}

function ivrProblems() {
  const currency = $("ivr-currency").value;
  const name = $("ivr-name").value.trim();
  const reference = $("ivr-reference").value.trim();
  const problems = [
    ["ivr-contact", contactIdProblem($("ivr-contact").value)],
    ["ivr-amount", amountProblem($("ivr-amount").value, currency)],
    ["ivr-name", !name ? "Enter the name on the card."
      : containsCardNumber(name) ? "A name must not hold a card number." : null],
    ["ivr-reference", containsCardNumber(reference) ? "A note must not hold a card number." : null],
  ];
  return problems.filter(([, message]) => message);
}

function ivrBody() {
  const body = {
    contact_id: contactIdOf($("ivr-contact").value),
    amount: $("ivr-amount").value.trim(),
    currency: $("ivr-currency").value,
    cardholder_name: $("ivr-name").value.trim(),
  };
  const reference = $("ivr-reference").value.trim();
  if (reference) body.reference = reference;
  return body;
}

async function startIvrPayment(event) {
  event.preventDefault();
  if (ivrUnavailable) return;
  const form = $("ivr-form");
  clearErrors(form);
  if (showProblems(ivrProblems())) return;
  // No Idempotency-Key: the API takes none here. A session charges nothing by itself,
  // and only the one whose id is put on the contact is ever used.
  const answer = await busy($("ivr-submit"), () => api("POST", "/v1/ivr/sessions", ivrBody()), "Starting…");
  if (!answer) return; // one start in flight at most
  if (answer.ok) {
    form.reset();
    fillIvrCurrencies();
    followIvrSession(answer.data);
    return;
  }
  if (answer.status === 401) return;
  if (answer.status === 404 || answer.status === 403) {
    markIvrUnavailable();
    announce("Keypad payments are not available on this service yet.");
    return;
  }
  announce(`Not started: ${showProblem(answer.problem, IVR_FIELDS, "ivr-error")}`);
}

function showIvrSession(session) {
  const outcome = $("ivr-outcome");
  const line = session.status === "approved"
    ? `Approved: ${session.amount} ${session.currency} charged.`
    : IVR_WORDS[session.status] || words(session.status);
  outcome.textContent = line;
  outcome.dataset.status = session.status;
  $("ivr-steps").hidden = session.status !== "waiting";
  showIvrProgress(session);
  fillFacts($("ivr-facts"), [
    ["Card", session.last4 ? maskedCard(session) : null],
    ["Amount", `${session.amount} ${session.currency}`],
    ["Name on the card", session.cardholder_name],
    ["Order number or note", session.reference],
    ["Contact id", session.contact_id],
    ["Confirmation code", session.confirmation_code, "code"],
    ["Session id", session.id, ID],
    ["Payment id", session.payment_id, ID],
    ["Started (UTC)", when(session.created_at)],
  ]);
  $("ivr-view-payment").hidden = !session.payment_id;
  return line;
}

function followIvrSession(session) {
  forgetIvrSession();
  ivrSession = {
    id: session.id, paymentId: null, progress: session.progress,
    deadline: Date.now() + IVR_POLL_LIMIT_MS, timer: null,
  };
  const attributes = session.contact_attributes || {};
  fillFacts($("ivr-attributes"), Object.entries(attributes));
  showIvrSession(session);
  $("ivr-session").hidden = false;
  $("ivr-session").focus();
  announce(`Keypad payment started. Put ${Object.entries(attributes).map(([k, v]) => `${k} ${v}`).join(", ")} on the caller's contact, then transfer the caller.`);
  scheduleIvrPoll();
}

function scheduleIvrPoll() {
  $("ivr-stop").hidden = false;
  $("ivr-check").hidden = true;
  $("ivr-polling").textContent = "Checking for the outcome every 2 seconds.";
  ivrSession.timer = window.setTimeout(pollIvrSession, IVR_POLL_MS);
}

function stopIvrPolling(message) {
  if (!ivrSession) return;
  window.clearTimeout(ivrSession.timer);
  ivrSession.timer = null;
  $("ivr-stop").hidden = true;
  $("ivr-check").hidden = false;
  $("ivr-polling").textContent = message;
}

async function pollIvrSession() {
  const followed = ivrSession;
  if (!followed) return;
  followed.timer = null;
  const answer = await api("GET", `/v1/ivr/sessions/${encodeURIComponent(followed.id)}`);
  if (ivrSession !== followed || followed.stopped) return; // stopped, or another session since
  if (answer.status === 401) return;
  if (answer.ok) {
    const line = showIvrSession(answer.data);
    const news = progressNews(followed.progress, answer.data);
    followed.progress = answer.data.progress;
    if (news) announce(`Keypad payment: ${news}`);
    followed.paymentId = answer.data.payment_id;
    if (answer.data.status !== "waiting") {
      if (answer.data.payment_id) recordTaken({ ...answer.data, id: answer.data.payment_id });
      const card = answer.data.last4 ? ` ${maskedCard(answer.data)}.` : "";
      stopIvrPolling("Decided: no more checking.");
      $("ivr-check").hidden = true;
      const code = answer.data.confirmation_code ? ` Confirmation code ${answer.data.confirmation_code}.` : "";
      announce(`Keypad payment: ${line}${card}${code}`);
      return;
    }
  } else if (!retryable(answer)) {
    stopIvrPolling(`Stopped checking: ${answer.problem.detail || "the service refused."}`);
    announce("Stopped checking the keypad payment.");
    return;
  }
  if (Date.now() >= followed.deadline) {
    stopIvrPolling("No outcome after 5 minutes: stopped checking. Check again when the caller has finished.");
    announce("Still waiting for the caller after 5 minutes: stopped checking.");
    return;
  }
  if (!answer.ok) $("ivr-polling").textContent = "The service did not answer; still checking every 2 seconds.";
  else $("ivr-polling").textContent = "Checking for the outcome every 2 seconds.";
  followed.timer = window.setTimeout(pollIvrSession, IVR_POLL_MS);
}

function stopIvrChecking() {
  if (!ivrSession) return;
  ivrSession.stopped = true;
  stopIvrPolling("Stopped checking. Check again to see the outcome.");
  $("ivr-check").focus();
  announce("Stopped checking the keypad payment.");
}

function checkIvrAgain() {
  if (!ivrSession) return;
  ivrSession = { ...ivrSession, stopped: false, deadline: Date.now() + IVR_POLL_LIMIT_MS };
  $("ivr-stop").hidden = false;
  $("ivr-check").hidden = true;
  $("ivr-stop").focus();
  $("ivr-polling").textContent = "Checking for the outcome every 2 seconds.";
  pollIvrSession();
}

function forgetIvrSession() {
  if (ivrSession) {
    ivrSession.stopped = true;
    window.clearTimeout(ivrSession.timer);
  }
  ivrSession = null;
  $("ivr-session").hidden = true;
  $("ivr-attributes").replaceChildren();
  $("ivr-facts").replaceChildren();
  $("ivr-outcome").textContent = "";
  $("ivr-polling").textContent = "";
}

function newIvrPayment() {
  forgetIvrSession();
  $("ivr-form").reset();
  fillIvrCurrencies();
  clearErrors($("ivr-form"));
  showMessage("ivr-error", "");
  $("ivr-contact").focus();
}

// The same currencies as the card form, USD first chosen.
function fillIvrCurrencies() {
  const select = $("ivr-currency");
  if (!select.options.length) {
    select.append(...[...$("currency").options].map((option) => option.cloneNode(true)));
  }
  select.value = "USD";
}


export function wireIvr() {
  $("ivr-form").addEventListener("submit", startIvrPayment);
  $("ivr-stop").addEventListener("click", stopIvrChecking);
  $("ivr-check").addEventListener("click", checkIvrAgain);
  $("ivr-new").addEventListener("click", newIvrPayment);
  $("ivr-view-payment").addEventListener("click", (event) =>
    ivrSession && ivrSession.paymentId && busy(event.currentTarget, () => showPayment(ivrSession.paymentId)));
  checkOnLeave("ivr-amount", (v) => amountProblem(v, $("ivr-currency").value));
  fillIvrCurrencies();
  onSignOut(() => {
    forgetIvrSession();
    $("ivr-form").reset();
    fillIvrCurrencies();
    clearErrors($("ivr-form"));
    showMessage("ivr-error", "");
  });
}
