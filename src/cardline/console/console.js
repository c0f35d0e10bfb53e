// cardline agent console: the page's behaviour. Plain JavaScript modules, no dependencies.
//
// Card data rules this page keeps: card values live only in their inputs until a submit
// sends them as a JSON body over fetch; the inputs are emptied after every submit and
// when the page is left; nothing goes to localStorage, sessionStorage, cookies, the URL
// or the history. The credential (an operator key locally, a Cognito ID token on AWS)
// lives only in the `credential` variable below.
import { loadConfig, signInWithPassword, answerCodeChallenge } from "./sign_in.js";
import {
  digitsOf,
  detectBrand,
  cardNumberProblem,
  parseExpiry,
  expiryProblem,
  grouped,
  securityCodeProblem,
  containsCardNumber,
  decimalsOf,
  toMinor,
  fromMinor,
  amountProblem,
} from "./checks.js";

let credential = null; // memory only: reloading or signing out forgets it
let config = null; // how to sign in: /console/config.json
let mfa = null; // the Cognito challenge in progress: { session, username }
let sessionTimer = null; // ends a Cognito session when its ID token expires
let signingIn = false;
let payAttempt = null; // Idempotency-Key of the payment attempt in progress
let paying = false;
let refundAttempt = null; // Idempotency-Key of the refund attempt in progress
let refunding = false;
let shownPayment = null; // the payment in the detail panel
let lastReceipt = null;
let nextCursor = null;
let ivrSession = null; // the keypad payment the agent is following: { id, deadline, timer }
let ivrStarting = false;
let ivrUnavailable = false; // this service has no IVR payment sessions (config or a 404)

const $ = (id) => document.getElementById(id);
// The site's root, wherever it is mounted (an API Gateway stage adds a path): this module
// is served at <root>/console/console.js.
const ROOT = new URL("../", import.meta.url);
const CARD_INPUTS = ["card-number", "card-expiry", "card-cvv", "card-name"];

// Where a problem's "field" is shown, per form.
const PAY_FIELDS = {
  amount: "amount",
  currency: "currency",
  reference: "reference",
  "card.number": "card-number",
  "card.expiry": "card-expiry",
  "card.security_code": "card-cvv",
  "card.name": "card-name",
};
const FILTER_FIELDS = { status: "filter-status", since: "filter-since", until: "filter-until" };
const REFUND_FIELDS = { amount: "refund-amount" };
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

const BRAND_NAMES = {
  VISA: "Visa", MASTERCARD: "Mastercard", AMEX: "American Express", DISCOVER: "Discover",
  JCB: "JCB", DINERS: "Diners Club", CHINA_UNION_PAY: "UnionPay", MAESTRO: "Maestro",
};
const STATUS_WORDS = {
  approved: "Approved", declined: "Declined", failed: "Failed", pending: "Pending",
  unknown: "Outcome not known yet", partially_refunded: "Partially refunded",
  refunded: "Refunded",
};

// ---- small helpers ----------------------------------------------------------------

function words(code) {
  if (!code) return "";
  const text = String(code).replace(/_/g, " ").toLowerCase();
  return text.charAt(0).toUpperCase() + text.slice(1);
}

const brandName = (brand) => BRAND_NAMES[brand] || words(brand) || "Card";
const maskedCard = (p) => (p.last4 ? `${brandName(p.brand)} •••• ${p.last4}` : "—");
const when = (stamp) => (stamp ? String(stamp).replace("T", " ").slice(0, 16) : "—");

function announce(text) {
  const region = $("announce");
  region.textContent = "";
  // A new text node after a tick makes screen readers speak a repeated message too.
  window.setTimeout(() => { region.textContent = text; }, 30);
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function fillFacts(list, facts) {
  list.replaceChildren();
  for (const [term, value] of facts) {
    if (value === undefined || value === null || value === "") continue;
    list.append(element("dt", term), element("dd", value));
  }
}

function setError(inputId, message) {
  const input = $(inputId);
  const box = $(`${inputId}-error`);
  if (!input || !box) return false;
  box.textContent = message || "";
  box.hidden = !message;
  if (message) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
  return true;
}

function showMessage(id, message) {
  const box = $(id);
  box.textContent = message || "";
  box.hidden = !message;
}

function clearErrors(form) {
  for (const box of form.querySelectorAll(".error")) {
    box.textContent = "";
    box.hidden = true;
  }
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}

// Shows a problem+json answer: next to its field when the page has one, else in `general`.
function showProblem(problem, fields, general) {
  const detail = problem.detail || problem.title || "The request failed.";
  const inputId = problem.field && fields[problem.field];
  if (inputId && setError(inputId, detail)) {
    $(inputId).focus();
    return detail;
  }
  showMessage(general, detail);
  return detail;
}

// ---- the API ----------------------------------------------------------------------

async function api(method, path, body, idempotencyKey) {
  const headers = { Accept: "application/json", Authorization: `Bearer ${credential}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
  let response;
  try {
    response = await fetch(new URL(path.replace(/^\//, ""), ROOT), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
      redirect: "error",
    });
  } catch {
    return { ok: false, status: 0, problem: { detail: "The service could not be reached." } };
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (response.ok) return { ok: true, status: response.status, data };
  if (response.status === 401 && credential) {
    signOut(cognitoMode() ? "Your session has ended. Sign in again." : "The service refused your key. Sign in again.");
  }
  return {
    ok: false,
    status: response.status,
    problem: data && typeof data === "object" ? data : { detail: `The service answered ${response.status}.` },
  };
}

// A failure worth retrying with the same Idempotency-Key: nothing answered, or the
// outcome is not known, or the service was busy.
const retryable = (answer) => answer.status === 0 || answer.status === 429 || answer.status >= 500;

// ---- sign in and out ----------------------------------------------------------------

const cognitoMode = () => Boolean(config && config.auth === "cognito");

// The forms of the sign-in view: the operator key (local), or Cognito's two steps (AWS).
function showSignInStep(step) {
  $("sign-in-loading").hidden = true;
  $("sign-in-form").hidden = step !== "key";
  $("password-form").hidden = step !== "password";
  $("code-form").hidden = step !== "code";
  const first = { key: "operator-key", password: "username", code: "mfa-code" }[step];
  if (first) $(first).focus();
}

function firstSignInStep() {
  return cognitoMode() ? "password" : "key";
}

// The credential is set; check that the service takes it before showing the console.
async function enter(candidate, refused) {
  credential = candidate;
  const answer = await api("GET", "/v1/payments?limit=1");
  if (!answer.ok) {
    credential = null;
    return answer.status === 401 ? refused : answer.problem.detail;
  }
  for (const id of ["operator-key", "username", "password", "mfa-code"]) $(id).value = "";
  $("sign-in-view").hidden = true;
  $("nav").hidden = false;
  showView("pay");
  announce("Signed in.");
  return null;
}

async function signIn(event) {
  event.preventDefault();
  const input = $("operator-key");
  clearErrors($("sign-in-form"));
  const key = input.value.trim();
  if (!key) {
    setError("operator-key", "Enter your operator key.");
    input.focus();
    return;
  }
  $("sign-in-submit").disabled = true;
  const problem = await enter(key, "This key was not accepted.");
  $("sign-in-submit").disabled = false;
  if (problem) {
    setError("operator-key", problem);
    input.focus();
  }
}

// Cognito, step one: email and password (InitiateAuth).
async function signInWithCognito(event) {
  event.preventDefault();
  if (signingIn) return;
  const form = $("password-form");
  clearErrors(form);
  const username = $("username").value.trim();
  const password = $("password").value;
  const missing = !username ? ["username", "Enter your email."] : !password ? ["password", "Enter your password."] : null;
  if (missing) {
    setError(...missing);
    $(missing[0]).focus();
    return;
  }
  signingIn = true;
  $("password-submit").disabled = true;
  const result = await signInWithPassword(config, username, password);
  signingIn = false;
  $("password-submit").disabled = false;
  $("password").value = ""; // whatever happens next, the password is not kept
  if (result.mfa) {
    mfa = result.mfa;
    showSignInStep("code");
    announce("Enter the code from your authenticator app.");
    return;
  }
  if (result.token) {
    await finishCognito(result);
    return;
  }
  setError("password", result.error);
  $("password").focus();
  announce(result.error);
}

// Cognito, step two: the authenticator app's code (RespondToAuthChallenge).
async function verifyCode(event) {
  event.preventDefault();
  if (signingIn || !mfa) return;
  clearErrors($("code-form"));
  const code = $("mfa-code").value.replace(/\s/g, "");
  if (!/^\d{6}$/.test(code)) {
    setError("mfa-code", "Enter the 6 digits your authenticator app shows.");
    $("mfa-code").focus();
    return;
  }
  signingIn = true;
  $("code-submit").disabled = true;
  const result = await answerCodeChallenge(config, mfa, code);
  signingIn = false;
  $("code-submit").disabled = false;
  $("mfa-code").value = "";
  if (result.token) {
    mfa = null;
    await finishCognito(result);
    return;
  }
  if (result.restart) {
    startAgain(result.error);
    return;
  }
  setError("mfa-code", result.error);
  $("mfa-code").focus();
  announce(result.error);
}

async function finishCognito(result) {
  const problem = await enter(result.token,
    "Cognito signed you in, but the service refused the session. Ask your administrator.");
  if (problem) {
    startAgain(problem);
    return;
  }
  // The ID token is the whole session: when it expires, sign in again.
  window.clearTimeout(sessionTimer);
  sessionTimer = window.setTimeout(
    () => signOut("Your session has ended. Sign in again."), result.expiresIn * 1000);
}

function startAgain(message) {
  mfa = null;
  $("mfa-code").value = "";
  clearErrors($("code-form"));
  showSignInStep("password");
  if (typeof message === "string") {
    setError("password", message);
    announce(message);
  }
}

function signOut(message) {
  credential = null;
  mfa = null;
  window.clearTimeout(sessionTimer);
  sessionTimer = null;
  payAttempt = null;
  refundAttempt = null;
  shownPayment = null;
  lastReceipt = null;
  nextCursor = null;
  clearCardFields();
  forgetIvrSession();
  for (const id of ["pay-form", "filter-form", "refund-form", "ivr-form"]) {
    $(id).reset();
    clearErrors($(id));
  }
  showMessage("pay-error", "");
  $("receipt").hidden = true;
  $("detail").hidden = true;
  $("payments-rows").replaceChildren();
  $("nav").hidden = true;
  $("pay-view").hidden = true;
  $("payments-view").hidden = true;
  $("sign-in-view").hidden = false;
  for (const id of ["sign-in-form", "password-form", "code-form"]) {
    $(id).reset();
    clearErrors($(id));
  }
  showSignInStep(firstSignInStep());
  if (typeof message === "string") setError(cognitoMode() ? "password" : "operator-key", message);
  announce(typeof message === "string" ? message : "Signed out.");
}

function showView(name) {
  $("pay-view").hidden = name !== "pay";
  $("ivr-view").hidden = name !== "ivr";
  $("payments-view").hidden = name !== "payments";
  $("nav-pay").toggleAttribute("aria-current", name === "pay");
  $("nav-ivr").toggleAttribute("aria-current", name === "ivr");
  $("nav-payments").toggleAttribute("aria-current", name === "payments");
  if (name === "pay") $("amount").focus();
  if (name === "ivr" && !ivrUnavailable && $("ivr-session").hidden) $("ivr-contact").focus();
}

// ---- taking a payment ---------------------------------------------------------------

function clearCardFields() {
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
function checkOnLeave(inputId, problemOf) {
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
  const reference = $("reference").value.trim();
  if (reference) body.reference = reference;
  return body;
}

async function takePayment(event) {
  event.preventDefault();
  if (paying) return; // a second click while one is in flight does nothing
  const form = $("pay-form");
  clearErrors(form);
  const problems = payProblems();
  if (problems.length) {
    for (const [id, message] of problems) setError(id, message);
    $(problems[0][0]).focus();
    announce(`Check ${problems.length === 1 ? "one field" : `${problems.length} fields`}: ${problems[0][1]}`);
    return;
  }
  paying = true;
  $("receipt").hidden = true; // the last call's receipt must not pass for this one's
  const button = $("pay-submit");
  button.disabled = true;
  button.textContent = "Charging…";
  form.setAttribute("aria-busy", "true");
  payAttempt = payAttempt || crypto.randomUUID();
  let answer;
  try {
    answer = await api("POST", "/v1/payments", paymentBody(), payAttempt);
  } finally {
    clearCardFields(); // after every submit, whatever the answer
    paying = false;
    button.disabled = false;
    button.textContent = "Charge card";
    form.removeAttribute("aria-busy");
  }
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
  const status = STATUS_WORDS[payment.status] || words(payment.status);
  if (payment.status === "approved") return `${status}: ${payment.amount} ${payment.currency} charged.`;
  if (payment.decline_reason) {
    const code = payment.decline_code ? ` (code ${payment.decline_code})` : "";
    return `${status}: ${words(payment.decline_reason)}${code}.`;
  }
  return `${status}.`;
}

function showReceipt(payment) {
  lastReceipt = payment;
  const box = $("receipt");
  const outcome = $("receipt-outcome");
  outcome.textContent = outcomeLine(payment);
  outcome.dataset.status = payment.status;
  fillFacts($("receipt-fields"), [
    ["Card", maskedCard(payment)],
    ["Amount", `${payment.amount} ${payment.currency}`],
    ["Status", STATUS_WORDS[payment.status] || words(payment.status)],
    ["Reason", payment.status === "approved" ? null : payment.message],
    ["Reference", payment.reference],
    ["Payment id", payment.id],
    ["Time (UTC)", when(payment.created_at)],
  ]);
  box.hidden = false;
  box.focus();
  announce(`${outcomeLine(payment)} ${maskedCard(payment)}.`);
}

function newPayment() {
  $("pay-form").reset();
  clearErrors($("pay-form"));
  clearCardFields();
  payAttempt = null;
  $("receipt").hidden = true;
  $("amount").focus();
}

// ---- a keypad (IVR) payment: the caller keys the card, the agent follows the outcome ----
//
// No card data ever passes through this part of the page: the agent sends the payment's
// terms and the caller's contact id (POST /v1/ivr/sessions), puts the answer's contact
// attributes on the contact, and the page asks GET /v1/ivr/sessions/{id} until the
// session is decided (brand and last four digits at most).

function markIvrUnavailable() {
  ivrUnavailable = true;
  $("ivr-unavailable").hidden = false;
  $("ivr-form").hidden = true;
}

function ivrProblems() {
  const currency = $("ivr-currency").value;
  const contact = $("ivr-contact").value.trim();
  const name = $("ivr-name").value.trim();
  const reference = $("ivr-reference").value.trim();
  const problems = [
    ["ivr-contact", !contact ? "Enter the caller's contact id, as Amazon Connect shows it."
      : /^[A-Za-z0-9-]{1,64}$/.test(contact) ? null
        : "A contact id has letters, digits and dashes only (at most 64)."],
    ["ivr-amount", amountProblem($("ivr-amount").value, currency)],
    ["ivr-name", !name ? "Enter the name on the card."
      : containsCardNumber(name) ? "A name must not hold a card number." : null],
    ["ivr-reference", containsCardNumber(reference) ? "A note must not hold a card number." : null],
  ];
  return problems.filter(([, message]) => message);
}

function ivrBody() {
  const body = {
    contact_id: $("ivr-contact").value.trim(),
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
  if (ivrStarting || ivrUnavailable) return;
  const form = $("ivr-form");
  clearErrors(form);
  const problems = ivrProblems();
  if (problems.length) {
    for (const [id, message] of problems) setError(id, message);
    $(problems[0][0]).focus();
    announce(`Check ${problems.length === 1 ? "one field" : `${problems.length} fields`}: ${problems[0][1]}`);
    return;
  }
  ivrStarting = true;
  const button = $("ivr-submit");
  button.disabled = true;
  button.textContent = "Starting…";
  form.setAttribute("aria-busy", "true");
  let answer;
  try {
    // No Idempotency-Key: the API takes none here. A session charges nothing by itself,
    // and only the one whose id is put on the contact is ever used.
    answer = await api("POST", "/v1/ivr/sessions", ivrBody());
  } finally {
    ivrStarting = false;
    button.disabled = false;
    button.textContent = "Start keypad payment";
    form.removeAttribute("aria-busy");
  }
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
  fillFacts($("ivr-facts"), [
    ["Card", session.last4 ? maskedCard(session) : null],
    ["Amount", `${session.amount} ${session.currency}`],
    ["Name on the card", session.cardholder_name],
    ["Order number or note", session.reference],
    ["Contact id", session.contact_id],
    ["Session id", session.id],
    ["Payment id", session.payment_id],
    ["Started (UTC)", when(session.created_at)],
  ]);
  $("ivr-view-payment").hidden = !session.payment_id;
  return line;
}

function followIvrSession(session) {
  forgetIvrSession();
  ivrSession = { id: session.id, paymentId: null, deadline: Date.now() + IVR_POLL_LIMIT_MS, timer: null };
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
    followed.paymentId = answer.data.payment_id;
    if (answer.data.status !== "waiting") {
      const card = answer.data.last4 ? ` ${maskedCard(answer.data)}.` : "";
      stopIvrPolling("Decided: no more checking.");
      $("ivr-check").hidden = true;
      announce(`Keypad payment: ${line}${card}`);
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

// ---- payments and their detail --------------------------------------------------------

function nextDay(isoDate) {
  const [y, m, d] = isoDate.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
}

async function loadPayments(fromStart) {
  const form = $("filter-form");
  clearErrors(form);
  showMessage("payments-error", "");
  const query = new URLSearchParams({ limit: "10" });
  if ($("filter-status").value) query.set("status", $("filter-status").value);
  if ($("filter-since").value) query.set("since", $("filter-since").value);
  if ($("filter-until").value) query.set("until", nextDay($("filter-until").value));
  if (!fromStart && nextCursor) query.set("cursor", nextCursor);
  const answer = await api("GET", `/v1/payments?${query}`);
  if (!answer.ok) {
    if (answer.status !== 401) showProblem(answer.problem, FILTER_FIELDS, "payments-error");
    return;
  }
  const rows = $("payments-rows");
  if (fromStart) rows.replaceChildren();
  for (const payment of answer.data.items) rows.append(paymentRow(payment));
  nextCursor = answer.data.next_cursor;
  $("payments-more").hidden = !nextCursor;
  $("payments-empty").hidden = rows.children.length > 0;
  announce(`${rows.children.length} payment${rows.children.length === 1 ? "" : "s"} shown${nextCursor ? ", more available" : ""}.`);
}

function paymentRow(payment) {
  const row = document.createElement("tr");
  row.dataset.id = payment.id;
  const status = element("td", null);
  status.append(element("span", STATUS_WORDS[payment.status] || words(payment.status), `status ${payment.status}`));
  const open = element("button", "Details");
  open.type = "button";
  open.setAttribute("aria-label", `Details of ${payment.amount} ${payment.currency}, ${maskedCard(payment)}, ${when(payment.created_at)}`);
  open.addEventListener("click", () => showPayment(payment.id));
  const actions = element("td", null);
  actions.append(open);
  row.append(
    element("td", when(payment.created_at)),
    element("td", `${payment.amount} ${payment.currency}`, "num"),
    element("td", maskedCard(payment)),
    status,
    element("td", payment.reference || ""),
    actions,
  );
  return row;
}

async function showPayment(id) {
  const answer = await api("GET", `/v1/payments/${encodeURIComponent(id)}`);
  if (!answer.ok) {
    if (answer.status !== 401) showMessage("payments-error", answer.problem.detail);
    return;
  }
  const payment = answer.data;
  if (!shownPayment || shownPayment.id !== payment.id) refundAttempt = null;
  shownPayment = payment;
  const decimals = decimalsOf(payment.currency);
  const remaining = toMinor(payment.amount, decimals) - toMinor(payment.refunded_amount || "0", decimals);
  $("detail-title").textContent = `Payment of ${payment.amount} ${payment.currency}`;
  fillFacts($("detail-fields"), [
    ["Status", STATUS_WORDS[payment.status] || words(payment.status)],
    ["Card", maskedCard(payment)],
    ["Amount", `${payment.amount} ${payment.currency}`],
    ["Refunded", payment.refunded_amount ? `${payment.refunded_amount} ${payment.currency}` : null],
    ["Decline reason", payment.decline_reason ? `${words(payment.decline_reason)}${payment.decline_code ? ` (code ${payment.decline_code})` : ""}` : null],
    ["Reference", payment.reference],
    ["Taken by", payment.operator],
    ["Time (UTC)", when(payment.created_at)],
    ["Payment id", payment.id],
    ["PayPal capture", payment.paypal_capture_id],
  ]);
  const refunds = payment.refunds || [];
  $("refunds-rows").replaceChildren(...refunds.map((refund) => {
    const row = document.createElement("tr");
    row.append(
      element("td", when(refund.created_at)),
      // A refund PayPal refused has no confirmed amount: a dash, never "null null".
      element("td", refund.amount ? `${refund.amount} ${refund.currency}` : "—", "num"),
      element("td", words(refund.status)),
      element("td", refund.id),
    );
    return row;
  }));
  $("refunds-table").hidden = refunds.length === 0;
  $("refunds-none").hidden = refunds.length > 0;
  const refundable = ["approved", "partially_refunded"].includes(payment.status) && remaining > 0;
  const form = $("refund-form");
  form.hidden = !refundable;
  form.reset();
  clearErrors(form);
  $("refund-amount").disabled = true;
  $("refund-confirm").hidden = true;
  $("refund-submit").hidden = false;
  $("refund-remaining").textContent = `${fromMinor(remaining, decimals)} ${payment.currency}`;
  showMessage("refund-outcome", "");
  showView("payments");
  $("detail").hidden = false;
  $("detail").focus();
}

function remainingMinor() {
  const decimals = decimalsOf(shownPayment.currency);
  return toMinor(shownPayment.amount, decimals) - toMinor(shownPayment.refunded_amount || "0", decimals);
}

function refundChoice() {
  const partial = $("refund-partial").checked;
  const decimals = decimalsOf(shownPayment.currency);
  const amount = partial ? $("refund-amount").value.trim() : fromMinor(remainingMinor(), decimals);
  return { partial, amount };
}

// Step one: check the amount, then ask for confirmation.
function askRefund(event) {
  event.preventDefault();
  if (!shownPayment || refunding) return;
  clearErrors($("refund-form"));
  showMessage("refund-outcome", "");
  const { partial, amount } = refundChoice();
  if (partial) {
    const problem = amountProblem(amount, shownPayment.currency, remainingMinor());
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
  if (!shownPayment || refunding) return;
  refunding = true;
  const yes = $("refund-confirm-yes");
  yes.disabled = true;
  const { partial, amount } = refundChoice();
  const payment = shownPayment;
  refundAttempt = refundAttempt || crypto.randomUUID();
  let answer;
  try {
    answer = await api("POST", `/v1/payments/${encodeURIComponent(payment.id)}/refunds`,
      partial ? { amount } : undefined, refundAttempt);
  } finally {
    refunding = false;
    yes.disabled = false;
  }
  if (answer.status === 401) return;
  if (answer.ok) {
    refundAttempt = null;
    const message = `Refunded ${answer.data.amount} ${answer.data.currency} to ${maskedCard(payment)} (${words(answer.data.status)}).`;
    await showPayment(payment.id);
    showMessage("refund-outcome", message);
    announce(message);
    return;
  }
  if (!retryable(answer)) refundAttempt = null;
  const retry = retryable(answer) ? " Confirm again to retry: the retry cannot refund twice." : "";
  cancelRefund();
  if (!retry && answer.problem.field === "amount") {
    $("refund-partial").checked = true;
    $("refund-amount").disabled = false;
  }
  announce(`Not refunded: ${showProblem(answer.problem, REFUND_FIELDS, "refund-error")}`);
  if (retry) showMessage("refund-error", `${answer.problem.detail || "The service did not answer."}${retry}`);
}

// ---- wiring -------------------------------------------------------------------------

async function start() {
  $("sign-in-form").addEventListener("submit", signIn);
  $("password-form").addEventListener("submit", signInWithCognito);
  $("code-form").addEventListener("submit", verifyCode);
  $("code-cancel").addEventListener("click", () => startAgain());
  $("sign-out").addEventListener("click", () => signOut());
  $("nav-pay").addEventListener("click", () => showView("pay"));
  $("nav-ivr").addEventListener("click", () => showView("ivr"));
  $("nav-payments").addEventListener("click", () => {
    showView("payments");
    loadPayments(true);
    $("filter-status").focus();
  });

  $("pay-form").addEventListener("submit", takePayment);
  $("pay-clear").addEventListener("click", newPayment);
  $("card-number").addEventListener("input", onNumberInput);
  $("card-expiry").addEventListener("input", onExpiryInput);
  checkOnLeave("card-number", cardNumberProblem);
  checkOnLeave("card-expiry", expiryProblem);
  checkOnLeave("card-cvv", (v) => securityCodeProblem(v.trim(), codeLength()));
  checkOnLeave("amount", (v) => amountProblem(v, $("currency").value));
  $("receipt-new").addEventListener("click", newPayment);
  $("receipt-view").addEventListener("click", () => lastReceipt && showPayment(lastReceipt.id));

  $("filter-form").addEventListener("submit", (event) => {
    event.preventDefault();
    loadPayments(true);
  });
  $("payments-more").addEventListener("click", () => loadPayments(false));
  $("refund-form").addEventListener("submit", askRefund);
  for (const id of ["refund-full", "refund-partial"]) {
    $(id).addEventListener("change", () => {
      $("refund-amount").disabled = !$("refund-partial").checked;
      if ($("refund-partial").checked) $("refund-amount").focus();
    });
  }
  $("refund-confirm-yes").addEventListener("click", confirmRefund);
  $("ivr-form").addEventListener("submit", startIvrPayment);
  $("ivr-stop").addEventListener("click", stopIvrChecking);
  $("ivr-check").addEventListener("click", checkIvrAgain);
  $("ivr-new").addEventListener("click", newIvrPayment);
  $("ivr-view-payment").addEventListener("click", () => ivrSession && ivrSession.paymentId && showPayment(ivrSession.paymentId));
  checkOnLeave("ivr-amount", (v) => amountProblem(v, $("ivr-currency").value));
  fillIvrCurrencies();
  $("refund-confirm-no").addEventListener("click", cancelRefund);

  // Leaving the page (closing, reloading, going elsewhere) empties the card fields first,
  // so the back-forward cache never holds them.
  window.addEventListener("pagehide", clearCardFields);
  window.addEventListener("beforeunload", clearCardFields);
  clearCardFields();
  try {
    config = await loadConfig(ROOT);
  } catch {
    $("sign-in-loading").hidden = true;
    $("sign-in-unavailable").hidden = false;
    return;
  }
  // Keypad payments need the host's IVR session routes (locally yes; not yet on AWS).
  if (!config.ivrSessions) markIvrUnavailable();
  showSignInStep(firstSignInStep());
}

start();
