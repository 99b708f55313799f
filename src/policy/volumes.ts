// Which pod volumes count as sensitive: those that carry credentials.
import type { V1Volume, V1VolumeProjection } from "@kubernetes/client-node";

/** The service account token volume the ServiceAccount admission plugin adds to every pod. */
const API_ACCESS_PREFIX = "kube-api-access-";

// Projection sources known to carry no secret. Any other source (secret, serviceAccountToken,
// podCertificate, or one added in a later Kubernetes) counts as sensitive: fail closed.
const HARMLESS_SOURCES = new Set(["configMap", "downwardAPI", "clusterTrustBundle"]);
const harmless = (p: V1VolumeProjection): boolean =>
  Object.entries(p).every(([k, v]) => v === undefined || v === null || HARMLESS_SOURCES.has(k));

/**
 * A volume that holds credentials: a secret volume, a projected volume with a source other than
 * configMap, downwardAPI or clusterTrustBundle, or the kube-api-access-* token volume. With only the
 * name known, the name decides.
 */
export function isSensitiveVolume(name: string, volume?: V1Volume): boolean {
  if (name.startsWith(API_ACCESS_PREFIX)) return true;
  if (!volume) return false;
  if (volume.secret) return true;
  return volume.projected !== undefined && !(volume.projected.sources ?? []).every(harmless);
}
