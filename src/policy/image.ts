// Image patterns of DebugPolicy.spec.allowedImages and the spellings of one image reference.

type Token = string | typeof SEGMENT | typeof ANY;
const SEGMENT = Symbol("*");
const ANY = Symbol("**");

function tokens(pattern: string): Token[] {
  const chars = [...pattern]; // code points, as the image is walked
  const out: Token[] = [];
  for (let i = 0; i < chars.length; i++) {
    if (chars[i] !== "*") {
      out.push(chars[i] ?? "");
    } else if (chars[i + 1] === "*") {
      // Any run of two or more stars means "anything": a following `*` could add nothing.
      while (chars[i + 1] === "*") i++;
      out.push(ANY);
    } else {
      out.push(SEGMENT);
    }
  }
  return out;
}

/**
 * Whether the whole image matches the pattern: `*` is any run of characters except `/`, `**` is any
 * run of characters, everything else matches itself. Runs in O(pattern * image) steps whatever the
 * pattern (a regular expression could backtrack exponentially on a hostile one).
 */
export function matchImage(pattern: string, image: string): boolean {
  const toks = tokens(pattern);
  const close = (states: Set<number>): Set<number> => {
    for (const i of [...states].sort((a, b) => a - b)) {
      for (let j = i; j < toks.length && typeof toks[j] === "symbol"; j++) states.add(j + 1);
    }
    return states;
  };
  let states = close(new Set([0]));
  for (const ch of image) {
    const next = new Set<number>();
    for (const i of states) {
      const t = toks[i];
      if (t === ANY || (t === SEGMENT && ch !== "/")) next.add(i);
      else if (t === ch) next.add(i + 1);
    }
    if (next.size === 0) return false;
    states = close(next);
  }
  return states.has(toks.length);
}

const DOCKER_HUB = "docker.io";

/**
 * Every way of writing the same reference, as the container runtime resolves it (the rules of
 * distribution/reference): `busybox`, `docker.io/library/busybox`, with and without `:latest` when
 * neither tag nor digest is given. A pattern may name any of them.
 */
export function imageSpellings(image: string): string[] {
  const at = image.indexOf("@");
  const digest = at >= 0 ? image.slice(at) : "";
  const withTag = at >= 0 ? image.slice(0, at) : image;
  const colon = withTag.indexOf(":", withTag.lastIndexOf("/") + 1);
  const tag = colon >= 0 ? withTag.slice(colon) : "";
  const name = colon >= 0 ? withTag.slice(0, colon) : withTag;

  const slash = name.indexOf("/");
  const first = slash >= 0 ? name.slice(0, slash) : "";
  const hasDomain = slash >= 0 && (/[.:]/.test(first) || first === "localhost" || first.toLowerCase() !== first);
  let domain = hasDomain ? first : DOCKER_HUB;
  let path = hasDomain ? name.slice(slash + 1) : name;
  if (domain === "index.docker.io") domain = DOCKER_HUB;
  if (domain === DOCKER_HUB && !path.includes("/")) path = `library/${path}`;

  const full = `${domain}/${path}`;
  const short =
    domain !== DOCKER_HUB ? full : path.startsWith("library/") && path.split("/").length === 2 ? path.slice(8) : path;
  const suffixes = tag || digest ? [tag + digest] : ["", ":latest"];
  return [...new Set([image, ...[full, short].flatMap((n) => suffixes.map((s) => n + s))])];
}

/** Whether some spelling of the image matches some pattern. */
export function imageIsAllowedBy(patterns: readonly string[], image: string): boolean {
  const spellings = imageSpellings(image);
  return patterns.some((p) => spellings.some((s) => matchImage(p, s)));
}

const PINNED = /^[^@]+@sha256:[0-9a-f]{64}$/;

/** Pinned by a sha256 digest, so what runs is exactly what was reviewed. */
export function isPinnedByDigest(image: string): boolean {
  return PINNED.test(image);
}
