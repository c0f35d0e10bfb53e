// Checks the console makes before anything is sent: card brand as typed, the Luhn check
// digit, expiry, security-code length, amounts in minor units. Pure functions, no page.
// The service checks everything again (cardline.cde.card, cardline.cde.money): these only give
// the agent feedback while the caller is still on the line.

const ZERO_DECIMAL = new Set(["HUF", "JPY", "TWD"]);

// Brand as typed: [name, security code digits, usual length, lengths, IIN ranges]; the
// most specific (longest) matching prefix wins, as in cardline.cde.card. The check digit is
// judged as the agent types once the number reaches its brand's usual length.
const BRANDS = [
  ["Visa", 3, 16, [13, 16, 19], ["4"]],
  ["Mastercard", 3, 16, [16], ["51-55", "2221-2720"]],
  ["American Express", 4, 15, [15], ["34", "37"]],
  ["Discover", 3, 16, [16, 17, 18, 19], ["6011", "644-649", "65", "622126-622925"]],
  ["JCB", 3, 16, [16, 17, 18, 19], ["3528-3589"]],
  ["Diners Club", 3, 14, [14, 15, 16, 17, 18, 19], ["300-305", "3095", "36", "38", "39"]],
  ["UnionPay", 3, 16, [16, 17, 18, 19], ["62"]],
  ["Maestro", 3, 16, [13, 14, 15, 16, 17, 18, 19],
    ["50", "56-58", "6304", "6390", "6759", "676770", "676774"]],
];

export function listWords(numbers) {
  if (numbers.length === 1) return String(numbers[0]);
  return `${numbers.slice(0, -1).join(", ")} or ${numbers[numbers.length - 1]}`;
}

// ---- card numbers, expiry, security code ----------------------------------------

export const digitsOf = (text) => text.replace(/[\s-]/g, "");

export function detectBrand(digits) {
  let best = null;
  let bestLength = 0;
  for (const [name, codeLength, usual, lengths, ranges] of BRANDS) {
    for (const range of ranges) {
      const [low, high = low] = range.split("-");
      const prefix = digits.slice(0, low.length);
      if (prefix.length === low.length && prefix >= low && prefix <= high && low.length > bestLength) {
        best = { name, codeLength, usual, lengths };
        bestLength = low.length;
      }
    }
  }
  return best;
}

export function luhnValid(digits) {
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

export function cardNumberProblem(text) {
  const digits = digitsOf(text);
  if (!digits) return "Enter the card number.";
  if (!/^\d+$/.test(digits)) return "A card number has digits only (spaces are fine).";
  const brand = detectBrand(digits);
  const lengths = brand ? brand.lengths : [13, 14, 15, 16, 17, 18, 19];
  if (!lengths.includes(digits.length)) {
    const which = brand ? `A ${brand.name} card number` : "A card number";
    return `${which} has ${listWords(lengths)} digits; this one has ${digits.length}.`;
  }
  if (!luhnValid(digits)) return "This number fails the check-digit test: ask the caller to read it again.";
  return null;
}

export function parseExpiry(text) {
  const m = /^(\d{1,2})\s*\/\s*(\d{2}|\d{4})$/.exec(text.trim()) || /^(\d{2})(\d{2})$/.exec(text.trim());
  if (!m) return null;
  const month = Number(m[1]);
  const year = m[2].length === 2 ? 2000 + Number(m[2]) : Number(m[2]);
  return month >= 1 && month <= 12 ? { month, year } : null;
}

export function expiryProblem(text) {
  if (!text.trim()) return "Enter the expiry date.";
  const expiry = parseExpiry(text);
  if (!expiry) return "Write the expiry as MM/YY, e.g. 09/28.";
  const now = new Date();
  const monthsAhead = (expiry.year - now.getFullYear()) * 12 + (expiry.month - (now.getMonth() + 1));
  if (monthsAhead < 0) return "This card has expired.";
  if (monthsAhead > 240) return "The expiry must be within 20 years.";
  return null;
}

export function grouped(digits, brand) {
  const sizes = brand && brand.name === "American Express" ? [4, 6, 5] : [4, 4, 4, 4, 3];
  const groups = [];
  let at = 0;
  for (const size of sizes) {
    if (at >= digits.length) break;
    groups.push(digits.slice(at, at + size));
    at += size;
  }
  return groups.join(" ");
}

export function securityCodeProblem(text, length) {
  if (!text) return "Enter the security code.";
  if (!new RegExp(`^\\d{${length}}$`).test(text)) return `The security code has ${length} digits for this card.`;
  return null;
}

export function containsCardNumber(text) {
  const runs = text.match(/\d{13,19}/g) || [];
  return runs.some(luhnValid);
}

// ---- Amazon Connect's ids ------------------------------------------------------------

// A contact id as Connect writes it: a UUID in lower case (cardline.cde.ids.is_uuid, which the
// service applies). Capitals are the same UUID: the caller's id is sent in lower case.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const contactIdOf = (text) => text.trim().toLowerCase();

export function contactIdProblem(text) {
  const id = contactIdOf(text);
  if (!id) return "Enter the caller's contact id, from the Contact Control Panel.";
  if (!UUID.test(id)) {
    return "The caller's contact id is a UUID: 36 characters, 8-4-4-4-12 hex digits and dashes.";
  }
  return null;
}

// ---- money ------------------------------------------------------------------------

export const decimalsOf = (currency) => (ZERO_DECIMAL.has(currency) ? 0 : 2);

export function toMinor(amount, decimals) {
  const [whole, fraction = ""] = String(amount).split(".");
  return Number(whole) * 10 ** decimals + Number(fraction.padEnd(decimals, "0") || 0);
}

export function fromMinor(minor, decimals) {
  if (decimals === 0) return String(minor);
  const text = String(minor).padStart(decimals + 1, "0");
  return `${text.slice(0, -decimals)}.${text.slice(-decimals)}`;
}

export function amountProblem(text, currency, max) {
  const decimals = decimalsOf(currency);
  const pattern = decimals ? /^\d{1,7}(\.\d{1,2})?$/ : /^\d{1,7}$/;
  if (!text.trim()) return "Enter the amount.";
  if (!pattern.test(text.trim())) {
    return decimals ? "Write the amount like 12.50." : `${currency} amounts have no decimals.`;
  }
  const minor = toMinor(text.trim(), decimals);
  if (minor <= 0) return "The amount must be more than zero.";
  if (max !== undefined && minor > max) return `At most ${fromMinor(max, decimals)} ${currency} is left to refund.`;
  return null;
}
