// cardline agent console: the payments list (filters, search, pages) and one payment's
// detail. Searching is the service's (GET /v1/payments?search=): the list is paged, so
// only the service can say that no older payment matches.
import { api } from "./api.js";
import { containsCardNumber, decimalsOf, toMinor } from "./checks.js";
import {
  $, ID, announce, busy, clearErrors, element, fillFacts, maskedCard, setError, showMessage,
  showProblem, showView, statusWords, when, words,
} from "./dom.js";
import { prepareCapture } from "./capture.js";
import { prepareRefund } from "./refund.js";
import { onSignOut } from "./session.js";

const FILTER_FIELDS = {
  status: "filter-status", since: "filter-since", until: "filter-until", search: "filter-search",
};

let nextCursor = null;
let listed = false; // the list was asked for since sign-in

function nextDay(isoDate) {
  const [y, m, d] = isoDate.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
}

// Nonzero refunded amount, or null: an unrefunded payment has no "Refunded" line.
function refunded(payment) {
  const amount = payment.refunded_amount;
  if (!amount || toMinor(amount, decimalsOf(payment.currency)) <= 0) return null;
  return `${amount} ${payment.currency}`;
}

export const takenBy = (item) => item.operator_name || item.operator;

export async function loadPayments(fromStart, { quiet = false } = {}) {
  const form = $("filter-form");
  clearErrors(form);
  showMessage("payments-error", "");
  const search = $("filter-search").value.trim();
  if (containsCardNumber(search)) {
    // Never sent: a query string ends up in access logs.
    setError("filter-search", "A search must not hold a card number: search by the last 4 digits.");
    $("filter-search").focus();
    return;
  }
  const query = new URLSearchParams({ limit: "10" });
  if ($("filter-status").value) query.set("status", $("filter-status").value);
  if ($("filter-since").value) query.set("since", $("filter-since").value);
  if ($("filter-until").value) query.set("until", nextDay($("filter-until").value));
  if (search) query.set("search", search);
  if (!fromStart && nextCursor) query.set("cursor", nextCursor);
  const answer = await api("GET", `/v1/payments?${query}`);
  if (!answer.ok) {
    if (answer.status !== 401) showProblem(answer.problem, FILTER_FIELDS, "payments-error");
    return;
  }
  listed = true;
  const rows = $("payments-rows");
  if (fromStart) rows.replaceChildren();
  for (const payment of answer.data.items) rows.append(paymentRow(payment));
  nextCursor = answer.data.next_cursor;
  $("payments-more").hidden = !nextCursor;
  $("payments-table").hidden = rows.children.length === 0; // no header above nothing
  $("payments-empty").hidden = rows.children.length > 0;
  if (!quiet) {
    announce(`${rows.children.length} payment${rows.children.length === 1 ? "" : "s"} shown${nextCursor ? ", more available" : ""}.`);
  }
}

function paymentRow(payment) {
  const row = document.createElement("tr");
  row.dataset.id = payment.id;
  const status = element("td", null);
  status.append(element("span", statusWords(payment.status), `status ${payment.status}`));
  const open = element("button", "Details");
  open.type = "button";
  open.setAttribute("aria-label", `Details of ${payment.amount} ${payment.currency}, ${maskedCard(payment)}, ${when(payment.created_at)}`);
  open.addEventListener("click", () => busy(open, () => showPayment(payment.id)));
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

// The list's row of this payment says what its detail says (after a refund, say).
function updateRow(payment) {
  const row = $("payments-rows").querySelector(`tr[data-id="${CSS.escape(payment.id)}"]`);
  if (row) row.replaceWith(paymentRow(payment));
}

export async function showPayment(id) {
  const answer = await api("GET", `/v1/payments/${encodeURIComponent(id)}`);
  if (!answer.ok) {
    if (answer.status !== 401) showMessage("payments-error", answer.problem.detail);
    return;
  }
  const payment = answer.data;
  $("detail-title").textContent = `Payment of ${payment.amount} ${payment.currency}`;
  fillFacts($("detail-fields"), [
    ["Status", statusWords(payment.status)],
    ["Confirmation code", payment.confirmation_code, "code"],
    ["Card", maskedCard(payment)],
    ["Amount", `${payment.amount} ${payment.currency}`],
    ["Refunded", refunded(payment)],
    ["Captured", payment.paypal_authorization_id && payment.intent === "AUTHORIZE" ? `${payment.captured_amount || "0"} ${payment.currency}` : null],
    ["Honoured until (UTC)", payment.status === "authorized" || payment.status === "partially_captured" ? when(payment.authorization_honoured_until) : null],
    ["Capture by (UTC)", payment.status === "authorized" || payment.status === "partially_captured" ? when(payment.authorization_expires_at) : null],
    ["Address check", payment.avs_result],
    ["Security code check", payment.cvv_result],
    ["Flagged", payment.flags],
    ["Decline reason", payment.decline_reason ? `${words(payment.decline_reason)}${payment.decline_code ? ` (code ${payment.decline_code})` : ""}` : null],
    ["Reference", payment.reference],
    ["Taken by", takenBy(payment)],
    ["Time (UTC)", when(payment.created_at)],
    ["Payment id", payment.id, ID],
    ["PayPal capture", payment.paypal_capture_id, ID],
  ]);
  const refunds = payment.refunds || [];
  $("refunds-rows").replaceChildren(...refunds.map((refund) => {
    const row = document.createElement("tr");
    row.append(
      element("td", when(refund.created_at)),
      // A refund PayPal refused has no confirmed amount: a dash, never "null null".
      element("td", refund.amount ? `${refund.amount} ${refund.currency}` : "—", "num"),
      element("td", words(refund.status)),
      element("td", refund.id, ID),
    );
    return row;
  }));
  $("refunds-table").hidden = refunds.length === 0;
  $("refunds-none").hidden = refunds.length > 0;
  prepareRefund(payment);
  prepareCapture(payment);
  updateRow(payment);
  showView("payments");
  if (!listed) await loadPayments(true, { quiet: true }); // the list around it, not an empty header
  $("detail").hidden = false;
  $("detail").focus();
}

function forget() {
  nextCursor = null;
  listed = false;
  $("filter-form").reset();
  clearErrors($("filter-form"));
  $("payments-rows").replaceChildren();
  $("payments-table").hidden = true;
  $("payments-empty").hidden = true;
  $("payments-more").hidden = true;
  $("detail").hidden = true;
}

export function wirePayments() {
  $("nav-payments").addEventListener("click", () => {
    showView("payments");
    loadPayments(true);
    $("filter-status").focus();
  });
  $("filter-form").addEventListener("submit", (event) => {
    event.preventDefault();
    busy($("filter-submit"), () => loadPayments(true));
  });
  $("payments-more").addEventListener("click", () => busy($("payments-more"), () => loadPayments(false)));
  onSignOut(forget);
}
