/**
 * WWW-Authenticate challenges (RFC 7235) as registries send them with a 401:
 *   Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"
 *   Basic realm="Registry Realm"
 * A header may hold several challenges; parameters are token=token or token="quoted".
 * Pure.
 */

export interface Challenge {
  /** Lower case: `bearer`, `basic`. */
  scheme: string;
  /** Parameter names in lower case. */
  params: Record<string, string>;
}

/** Parses one or more challenges; unparsable trailing text is ignored. */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const s = header;
  const skip = (re: RegExp) => { while (i < s.length && re.test(s[i]!)) i++; };
  while (i < s.length) {
    skip(/[\s,]/);
    const scheme = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/.exec(s.slice(i))?.[0];
    if (!scheme) break;
    i += scheme.length;
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(challenge);
    for (;;) {
      const save = i;
      skip(/[\s,]/);
      const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*/.exec(s.slice(i));
      if (!m) { i = save; break; }
      i += m[0].length;
      let value = '';
      if (s[i] === '"') {
        i++;
        while (i < s.length && s[i] !== '"') {
          if (s[i] === '\\' && i + 1 < s.length) i++;
          value += s[i++];
        }
        i++; // the closing quote
      } else {
        const v = /^[^\s,]*/.exec(s.slice(i))![0];
        value = v;
        i += v.length;
      }
      challenge.params[m[1]!.toLowerCase()] = value;
    }
    // A token68 (`Negotiate abc==`) or anything else we do not use: skip to the next comma.
    if (i < s.length && !/[\s,]/.test(s[i]!)) { while (i < s.length && s[i] !== ',') i++; }
  }
  return out;
}

/** The token endpoint URL for a Bearer challenge and the scopes wanted. */
export function tokenUrl(challenge: Challenge, scopes: string[]): URL {
  const url = new URL(challenge.params.realm ?? '');
  if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
  for (const scope of scopes) url.searchParams.append('scope', scope);
  return url;
}
