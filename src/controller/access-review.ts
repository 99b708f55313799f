// RBAC's answer to "may this user use this DebugPolicy?", asked with a SubjectAccessReview.
import type { AuthorizationApi } from "../runtime/kube/api.ts";
import { GROUP, POLICY_PLURAL } from "../api/types.ts";

/** How long an "allowed" answer is reused. */
export const ALLOWED_CACHE_MS = 5_000;
/** Past this many remembered answers, the expired ones are dropped. */
const PRUNE_ABOVE = 1_000;

/**
 * A "yes" is kept for ALLOWED_CACHE_MS, so a burst of sessions from one user (a GitOps sync) costs one
 * review, as the apiserver's own webhook authorizer caches its answers (5 min by default); a "no" is
 * never kept. A revoked permission therefore stops new injections within ALLOWED_CACHE_MS; creation
 * is refused at once by admission (debugsession-requester-guard asks the authorizer itself).
 */
export class AccessReviewer {
  private readonly authz: AuthorizationApi;
  private readonly now: () => number;
  /** Answers "allowed", by user, groups, namespace and policy: until when they hold. */
  private readonly allowedUntil = new Map<string, number>();

  constructor(authz: AuthorizationApi, now: () => number) {
    this.authz = authz;
    this.now = now;
  }

  async mayUse(username: string, groups: string[], namespace: string, policy: string): Promise<boolean> {
    const key = JSON.stringify([username, [...groups].sort(), namespace, policy]);
    const now = this.now();
    if ((this.allowedUntil.get(key) ?? 0) > now) return true;
    const review = await this.authz.createSubjectAccessReview({
      body: {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SubjectAccessReview",
        spec: {
          user: username,
          groups,
          resourceAttributes: { group: GROUP, resource: POLICY_PLURAL, verb: "use", name: policy, namespace },
        },
      },
    });
    const allowed = review.status?.allowed === true;
    if (!allowed) {
      this.allowedUntil.delete(key);
      return false;
    }
    if (this.allowedUntil.size > PRUNE_ABOVE)
      for (const [k, until] of this.allowedUntil) if (until <= now) this.allowedUntil.delete(k);
    this.allowedUntil.set(key, now + ALLOWED_CACHE_MS);
    return true;
  }
}
