// cardline agent console: how the page learns to sign in, and the Cognito sign-in on AWS.
//
// The page asks the backoffice for /console/config.json: {"auth": "operator-key"} locally,
// {"auth": "cognito", region, userPoolClientId, endpoint} on AWS. With Cognito the page
// calls the user pool's public JSON API itself (no SDK, no third-party script):
//   InitiateAuth (USER_PASSWORD_AUTH) -> challenge SOFTWARE_TOKEN_MFA + Session
//   RespondToAuthChallenge (the authenticator app's code) -> AuthenticationResult
// The password goes to Cognito only, over TLS, never to cardline. Of the tokens Cognito
// answers, the caller keeps the ID token in memory (what API Gateway's Cognito authorizer
// checks) and drops the rest: no refresh token, so a session ends when the ID token does.

const TARGET = "AWSCognitoIdentityProviderService.";

// Cognito's error types, in words an agent can act on.
const COGNITO_ERRORS = {
  NotAuthorizedException: "The email or password is not right.",
  UserNotFoundException: "The email or password is not right.",
  CodeMismatchException: "This code is not right. Enter the code your authenticator app shows now.",
  ExpiredCodeException: "This code has expired. Enter the code your authenticator app shows now.",
  EnableSoftwareTokenMFAException: "This code is not right. Enter the code your authenticator app shows now.",
  PasswordResetRequiredException: "Your password must be reset first: ask your administrator.",
  UserNotConfirmedException: "This account is not confirmed yet: ask your administrator.",
  TooManyRequestsException: "Too many attempts. Wait a minute, then try again.",
  TooManyFailedAttemptsException: "Too many attempts. Wait a minute, then try again.",
  LimitExceededException: "Too many attempts. Wait a minute, then try again.",
};
const NOT_SET_UP =
  "This account is not set up yet: its permanent password and authenticator app come first " +
  "(docs/deploy.md, \"First operators\").";

export async function loadConfig(base) {
  const response = await fetch(new URL("console/config.json", base), {
    cache: "no-store",
    credentials: "omit",
    redirect: "error",
  });
  if (!response.ok) throw new Error(`config answered ${response.status}`);
  const config = await response.json();
  if (config.auth !== "cognito" && config.auth !== "operator-key") throw new Error("unknown sign-in");
  return config;
}

async function cognito(config, action, body) {
  let response;
  try {
    response = await fetch(config.endpoint, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": TARGET + action,
      },
      body: JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
      redirect: "error",
      referrerPolicy: "no-referrer",
    });
  } catch {
    return { error: "Cognito could not be reached. Check the connection, then try again." };
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (response.ok && data) return { data };
  // "__type" may be "NotAuthorizedException" or "aws.cognito#NotAuthorizedException".
  const type = String((data && data.__type) || "").split("#").pop();
  const message = String((data && (data.message || data.Message)) || "");
  return { type, message, error: COGNITO_ERRORS[type] || `Cognito refused the sign-in (${type || response.status}).` };
}

// What a Cognito answer means for the page: a token, the MFA step, or a message.
function outcome(answer, username) {
  if (answer.error) return answer;
  const data = answer.data;
  if (data.AuthenticationResult && data.AuthenticationResult.IdToken) {
    return {
      token: data.AuthenticationResult.IdToken,
      expiresIn: Number(data.AuthenticationResult.ExpiresIn) || 900,
    };
  }
  if (data.ChallengeName === "SOFTWARE_TOKEN_MFA") {
    const parameters = data.ChallengeParameters || {};
    return { mfa: { session: data.Session, username: parameters.USER_ID_FOR_SRP || username } };
  }
  if (data.ChallengeName === "NEW_PASSWORD_REQUIRED" || data.ChallengeName === "MFA_SETUP") {
    return { error: NOT_SET_UP };
  }
  return { error: `Cognito asked for a step this console does not offer (${data.ChallengeName || "none"}).` };
}

export async function signInWithPassword(config, username, password) {
  const answer = await cognito(config, "InitiateAuth", {
    AuthFlow: "USER_PASSWORD_AUTH",
    ClientId: config.userPoolClientId,
    AuthParameters: { USERNAME: username, PASSWORD: password },
  });
  return outcome(answer, username);
}

export async function answerCodeChallenge(config, mfa, code) {
  const answer = await cognito(config, "RespondToAuthChallenge", {
    ChallengeName: "SOFTWARE_TOKEN_MFA",
    ClientId: config.userPoolClientId,
    Session: mfa.session,
    ChallengeResponses: { USERNAME: mfa.username, SOFTWARE_TOKEN_MFA_CODE: code },
  });
  // A challenge session lasts a few minutes; after that Cognito refuses it as NotAuthorized.
  if (answer.type === "NotAuthorizedException") {
    return { restart: true, error: "The sign-in took too long. Enter your email and password again." };
  }
  return outcome(answer, mfa.username);
}
