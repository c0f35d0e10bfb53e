// cardline agent console: signing in and out, who is signed in, and the shift's total.
//
// Locally the agent types an operator key; on AWS the agent signs in to the operator user
// pool (Cognito, sign_in.js). Either way the credential stays in api.js's memory only.
// The shift is this sign-in: what the agent took from it on (approved payments, card or
// keypad, per currency); signing out or reloading ends it.
import { loadConfig, signInWithPassword, answerCodeChallenge } from "./sign_in.js";
import { ROOT, api, onUnauthorized, setCredential } from "./api.js";
import { decimalsOf, fromMinor, toMinor } from "./checks.js";
import { $, announce, busy, clearErrors, setError, showView, when } from "./dom.js";

let config = null; // how to sign in: /console/config.json
let mfa = null; // the Cognito challenge in progress: { session, username }
let sessionTimer = null; // ends a Cognito session when its ID token expires
let shift = null; // { since, count, totals: Map currency -> minor units, counted: Set of ids }
let role = null; // the signed-in operator's role, as GET /v1/operator tells it
const resets = []; // each feature's "forget everything" for sign-out

const cognitoMode = () => Boolean(config && config.auth === "cognito");

// `reset` runs at every sign-out: a feature forgets its state and empties its forms.
export function onSignOut(reset) {
  resets.push(reset);
}

export const ivrSessionsServed = () => Boolean(config && config.ivrSessions);

// The roles, lowest first: each holds the rights of those before it (cardline.cde.roles).
// The service refuses what a role may not do; the console only leaves out the buttons.
const ROLES = ["agent", "supervisor", "admin"];

// Whether the signed-in operator's role holds `needed`'s rights (a refund: "supervisor").
export function holds(needed) {
  const held = ROLES.indexOf(role);
  return held >= 0 && held >= ROLES.indexOf(needed);
}

// ---- the shift ----------------------------------------------------------------------

// An approved payment this agent took since signing in counts once, however often shown.
export function recordTaken(payment) {
  if (!shift || payment.status !== "approved" || shift.counted.has(payment.id)) return;
  shift.counted.add(payment.id);
  shift.count += 1;
  const decimals = decimalsOf(payment.currency);
  const before = shift.totals.get(payment.currency) || 0;
  shift.totals.set(payment.currency, before + toMinor(payment.amount, decimals));
  showShift();
}

function showShift() {
  const since = `since ${when(shift.since).slice(11)} UTC`;
  if (!shift.count) {
    $("shift-total").textContent = `Nothing taken yet ${since}`;
    return;
  }
  const totals = [...shift.totals]
    .map(([currency, minor]) => `${fromMinor(minor, decimalsOf(currency))} ${currency}`)
    .join(" + ");
  $("shift-total").textContent =
    `${shift.count} payment${shift.count === 1 ? "" : "s"}, ${totals} ${since}`;
}

// ---- sign in and out ----------------------------------------------------------------

// The forms of the sign-in view: the operator key (local), or Cognito's two steps (AWS).
function showSignInStep(step) {
  $("sign-in-loading").hidden = true;
  $("sign-in-form").hidden = step !== "key";
  $("password-form").hidden = step !== "password";
  $("code-form").hidden = step !== "code";
  const first = { key: "operator-key", password: "username", code: "mfa-code" }[step];
  if (first) $(first).focus();
}

const firstSignInStep = () => (cognitoMode() ? "password" : "key");

// The credential is set; check that the service takes it and learn whose it is before
// showing the console.
async function enter(candidate, refused) {
  setCredential(candidate);
  const answer = await api("GET", "/v1/operator");
  if (!answer.ok) {
    setCredential(null);
    return answer.status === 401 ? refused : answer.problem.detail;
  }
  for (const id of ["operator-key", "username", "password", "mfa-code"]) $(id).value = "";
  $("agent-name").textContent = answer.data.name || answer.data.operator;
  role = answer.data.role;
  $("agent-role").textContent = role;
  shift = { since: new Date().toISOString(), count: 0, totals: new Map(), counted: new Set() };
  showShift();
  $("sign-in-view").hidden = true;
  $("nav").hidden = false;
  $("agent").hidden = false;
  showView("pay");
  announce(`Signed in as ${$("agent-name").textContent}.`);
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
  const problem = await busy($("sign-in-submit"), () => enter(key, "This key was not accepted."));
  if (problem) {
    setError("operator-key", problem);
    input.focus();
  }
}

// Cognito, step one: email and password (InitiateAuth).
async function signInWithCognito(event) {
  event.preventDefault();
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
  const result = await busy($("password-submit"), () => signInWithPassword(config, username, password));
  if (!result) return; // already signing in
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
  if (!mfa) return;
  clearErrors($("code-form"));
  const code = $("mfa-code").value.replace(/\s/g, "");
  if (!/^\d{6}$/.test(code)) {
    setError("mfa-code", "Enter the 6 digits your authenticator app shows.");
    $("mfa-code").focus();
    return;
  }
  const result = await busy($("code-submit"), () => answerCodeChallenge(config, mfa, code));
  if (!result) return;
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

export function signOut(message) {
  setCredential(null);
  mfa = null;
  shift = null;
  role = null;
  window.clearTimeout(sessionTimer);
  sessionTimer = null;
  for (const reset of resets) reset();
  $("agent-name").textContent = "";
  $("agent-role").textContent = "";
  $("shift-total").textContent = "";
  $("agent").hidden = true;
  $("nav").hidden = true;
  $("pay-view").hidden = true;
  $("ivr-view").hidden = true;
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

// Wires the sign-in forms and asks how to sign in; false when the settings did not load.
export async function startSession() {
  $("sign-in-form").addEventListener("submit", signIn);
  $("password-form").addEventListener("submit", signInWithCognito);
  $("code-form").addEventListener("submit", verifyCode);
  $("code-cancel").addEventListener("click", () => startAgain());
  $("sign-out").addEventListener("click", () => signOut());
  onUnauthorized(() => signOut(cognitoMode()
    ? "Your session has ended. Sign in again."
    : "The service refused your key. Sign in again."));
  try {
    config = await loadConfig(ROOT);
  } catch {
    $("sign-in-loading").hidden = true;
    $("sign-in-unavailable").hidden = false;
    return false;
  }
  showSignInStep(firstSignInStep());
  return true;
}
