// cardline agent console: the API. The credential (an operator key locally, a Cognito ID
// token on AWS) lives only in this module's `credential` variable: memory only.

// The site's root, wherever it is mounted (an API Gateway stage adds a path): this module
// is served at <root>/console/api.js.
export const ROOT = new URL("../", import.meta.url);

let credential = null;
let unauthorized = () => {};

export const hasCredential = () => credential !== null;
export function setCredential(value) {
  credential = value;
}
// What to do when the service refuses the credential (session.js signs the agent out).
export function onUnauthorized(handler) {
  unauthorized = handler;
}

export async function api(method, path, body, idempotencyKey) {
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
  if (response.status === 401 && credential) unauthorized();
  return {
    ok: false,
    status: response.status,
    problem: data && typeof data === "object" ? data : { detail: `The service answered ${response.status}.` },
  };
}

// A failure worth retrying with the same Idempotency-Key: nothing answered, or the
// outcome is not known, or the service was busy.
export const retryable = (answer) => answer.status === 0 || answer.status === 429 || answer.status >= 500;
