// Which URLs may carry secrets in plain HTTP: only those that never leave the machine (loopback hosts).

/** The URL, or null when `url` is not one. */
export function urlOrNull(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

/** localhost, 127.0.0.0/8 or ::1 (a URL's `hostname`, IPv6 in brackets or not). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host === '::1') return true;
  const octets = host.split('.');
  return octets.length === 4 && octets[0] === '127' && octets.every((o) => /^\d{1,3}$/.test(o) && Number(o) <= 255);
}

/** True for a URL whose host is loopback, whatever its scheme. */
export function isLoopbackUrl(url: string): boolean {
  const parsed = urlOrNull(url);
  return parsed !== null && isLoopbackHost(parsed.hostname);
}

/** True for https URLs and for http URLs to a loopback host; false for anything else or no URL at all. */
export function isHttpsOrLoopback(url: string): boolean {
  const parsed = urlOrNull(url);
  return parsed !== null && (parsed.protocol === 'https:' || (parsed.protocol === 'http:' && isLoopbackHost(parsed.hostname)));
}
