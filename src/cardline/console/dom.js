// cardline agent console: what every feature module shares to show things on the page,
// and the one helper for a button whose action waits for an answer (busy).

export const $ = (id) => document.getElementById(id);

const BRAND_NAMES = {
  VISA: "Visa", MASTERCARD: "Mastercard", AMEX: "American Express", DISCOVER: "Discover",
  JCB: "JCB", DINERS: "Diners Club", CHINA_UNION_PAY: "UnionPay", MAESTRO: "Maestro",
};
export const STATUS_WORDS = {
  approved: "Approved", declined: "Declined", failed: "Failed", pending: "Pending",
  unknown: "Outcome not known yet", partially_refunded: "Partially refunded",
  refunded: "Refunded", authorized: "Authorized, not captured",
  partially_captured: "Partially captured", captured: "Captured", voided: "Voided",
};

export function words(code) {
  if (!code) return "";
  const text = String(code).replace(/_/g, " ").toLowerCase();
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export const brandName = (brand) => BRAND_NAMES[brand] || words(brand) || "Card";
export const maskedCard = (p) => (p.last4 ? `${brandName(p.brand)} •••• ${p.last4}` : "—");
export const when = (stamp) => (stamp ? String(stamp).replace("T", " ").slice(0, 16) : "—");
export const statusWords = (status) => STATUS_WORDS[status] || words(status);
// An identifier is shown whole on one line (class "id"), never broken mid-word.
export const ID = "id";

export function announce(text) {
  const region = $("announce");
  region.textContent = "";
  // A new text node after a tick makes screen readers speak a repeated message too.
  window.setTimeout(() => { region.textContent = text; }, 30);
}

export function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  if (className) node.className = className;
  return node;
}

// [term, value, class of the value] rows; an empty value leaves its row out.
export function fillFacts(list, facts) {
  list.replaceChildren();
  for (const [term, value, className] of facts) {
    if (value === undefined || value === null || value === "") continue;
    list.append(element("dt", term), element("dd", value, className));
  }
}

export function setError(inputId, message) {
  const input = $(inputId);
  const box = $(`${inputId}-error`);
  if (!input || !box) return false;
  box.textContent = message || "";
  box.hidden = !message;
  if (message) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
  return true;
}

export function showMessage(id, message) {
  const box = $(id);
  box.textContent = message || "";
  box.hidden = !message;
}

export function clearErrors(form) {
  for (const box of form.querySelectorAll(".error")) {
    box.textContent = "";
    box.hidden = true;
  }
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}

// Shows the first of [inputId, message] problems by their fields; false when there are none.
export function showProblems(problems) {
  if (!problems.length) return false;
  for (const [id, message] of problems) setError(id, message);
  $(problems[0][0]).focus();
  announce(`Check ${problems.length === 1 ? "one field" : `${problems.length} fields`}: ${problems[0][1]}`);
  return true;
}

// Shows a problem+json answer: next to its field when the page has one, else in `general`.
export function showProblem(problem, fields, general) {
  const detail = problem.detail || problem.title || "The request failed.";
  const inputId = problem.field && fields[problem.field];
  if (inputId && setError(inputId, detail)) {
    $(inputId).focus();
    return detail;
  }
  showMessage(general, detail);
  return detail;
}

// The one way a button waits for its answer: while `work` runs the button is disabled and
// marked busy (its form too), optionally says `label`, and a second press does nothing
// (the answer is undefined then). Whatever `work` throws, the button comes back.
export async function busy(button, work, label) {
  if (button.getAttribute("aria-busy") === "true") return undefined;
  const form = button.form;
  const text = button.textContent;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  if (form) form.setAttribute("aria-busy", "true");
  if (label) button.textContent = label;
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    if (form) form.removeAttribute("aria-busy");
    if (label) button.textContent = text;
  }
}

export function showView(name) {
  $("pay-view").hidden = name !== "pay";
  $("ivr-view").hidden = name !== "ivr";
  $("payments-view").hidden = name !== "payments";
  $("nav-pay").toggleAttribute("aria-current", name === "pay");
  $("nav-ivr").toggleAttribute("aria-current", name === "ivr");
  $("nav-payments").toggleAttribute("aria-current", name === "payments");
  if (name === "pay") $("amount").focus();
  if (name === "ivr" && !$("ivr-form").hidden && $("ivr-session").hidden) $("ivr-contact").focus();
}
