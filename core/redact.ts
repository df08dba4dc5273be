// Keeps secrets written into URLs (`redis://user:password@host`) out of messages: every error or
// log line that may include a URL goes through redactUrls(). Also works on URLs too malformed to
// parse, which are exactly the ones that end up quoted in "not a URL" errors.

// scheme://  then everything up to the last '@' before whitespace, a quote or the end.
const USERINFO = /([a-z][a-z0-9+.-]*:\/\/)[^\s"'`<>]*@/gi;

/** `text` with the user-info part of every URL in it replaced by `***`. */
export function redactUrls(text: string): string {
  return text.replace(USERINFO, '$1***@');
}

/** Whether a URL carries a password in its user-info (`scheme://user:password@…` or `scheme://:password@…`). */
export function urlHasPassword(url: string): boolean {
  const match = /^[a-z][a-z0-9+.-]*:\/\/([^\s]*)@/i.exec(url.trim());
  return match !== null && match[1].includes(':');
}
