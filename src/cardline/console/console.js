// cardline agent console: the page's entry point. Plain JavaScript modules, no
// dependencies, one module per feature:
//   session.js   signing in and out, the agent's name, the shift total
//   pay.js       taking a card payment and its receipt
//   payments.js  the payments list, its search and a payment's detail
//   refund.js    refunding the payment shown
//   capture.js   capturing or voiding the authorization shown
//   ivr.js       a keypad payment the caller keys on the telephone
// with dom.js (showing things, and `busy`, the one way a button waits for its answer),
// api.js (the API and the credential, kept in memory only) and checks.js (card checks).
import { wireCapture } from "./capture.js";
import { $, showView } from "./dom.js";
import { markIvrUnavailable, wireIvr } from "./ivr.js";
import { wirePay } from "./pay.js";
import { showPayment, wirePayments } from "./payments.js";
import { wireRefund } from "./refund.js";
import { ivrSessionsServed, startSession } from "./session.js";

async function start() {
  $("nav-pay").addEventListener("click", () => showView("pay"));
  $("nav-ivr").addEventListener("click", () => showView("ivr"));
  wirePay();
  wirePayments();
  wireRefund(showPayment);
  wireCapture(showPayment);
  wireIvr();
  if (!(await startSession())) return;
  // Keypad payments need the host's IVR session routes: locally, and on AWS where the
  // IVR is deployed (the config says so).
  if (!ivrSessionsServed()) markIvrUnavailable();
}

start();
