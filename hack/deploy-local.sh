#!/usr/bin/env bash
# Deploys the operator into the local cluster (`make deploy-local`), as it would run anywhere: in a
# pod of the Deployment in config/manager, with the RBAC of config/rbac and the admission policies.
#   1. builds the image offline and imports it into the node's containerd (hack/operator-image.sh);
#   2. renders config/local with that image (the overlay's checked-in tag is a placeholder);
#   3. applies the CRDs (server-side) and waits until they are Established, then everything else;
#   4. waits for `rollout status deployment/debugsession-operator`, printing pods, events and
#      logs when it does not finish.
# The pods reach the apiserver through the `kubernetes` Service (kube-proxy runs on the node).
#
# Usage: hack/deploy-local.sh [--image REF] [--render-only]
#   --image REF     deploy REF (already in the node's containerd) instead of building one
#   --render-only   print the manifests that would be applied (no cluster needed) and stop
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NAMESPACE=debugsession-system
DEPLOYMENT=debugsession-operator
IMAGE_NAME=localhost/debugsession-operator
CONTAINERD_SOCK="$CLUSTER_DIR/containerd/containerd.sock"
KUBECTL="$KUBE_BIN_DIR/kubectl"

image=""
render_only=false
while (($#)); do
  case $1 in
    --image) [[ -n ${2:-} ]] || die "--image needs a reference"; image=$2; shift 2 ;;
    --render-only) render_only=true; shift ;;
    -h | --help) sed -n '2,/^source /p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

[[ -x $KUBECTL ]] || die "no kubectl at $KUBECTL: 'make cluster-up' builds it"
work=$(mktemp -d "${TMPDIR:-/tmp}/deploy-local.XXXXXX")
trap 'rm -rf "$work"' EXIT

# render REF: config/local with its placeholder tag replaced by REF's, through a generated overlay
# (kustomize `images:`) in a temp folder; nothing under config/ is edited.
render() {
  local ref=$1 name tag="" digest="" rel
  if [[ $ref == *@* ]]; then
    name=${ref%%@*}; digest=${ref#*@}
  elif [[ ${ref##*/} == *:* ]]; then
    name=${ref%:*}; tag=${ref##*:}
  else
    die "image reference '$ref' has no tag or digest"
  fi
  [[ $tag != latest ]] || die "refusing ':latest' (the node would try to pull it): use an explicit tag"
  rel=$(realpath --relative-to="$work" "$REPO_DIR/config/local")   # kustomize refuses absolute paths
  {
    echo "apiVersion: kustomize.config.k8s.io/v1beta1"
    echo "kind: Kustomization"
    echo "resources:"
    echo "  - $rel"
    echo "images:"
    echo "  - name: $IMAGE_NAME"
    echo "    newName: $name"
    [[ -z $tag ]] || echo "    newTag: \"$tag\""
    [[ -z $digest ]] || echo "    digest: \"$digest\""
  } > "$work/kustomization.yaml"
  "$KUBECTL" kustomize "$work" > "$work/all.yaml"
  sed 's/^ *//' "$work/all.yaml" | grep -xF "image: $ref" >/dev/null || die "the rendered Deployment does not use $ref (render with --render-only --image $ref to look)"
  ! grep -q 'local-placeholder' "$work/all.yaml" || die "the rendered manifests still hold the placeholder tag"
}

# Splits the rendered stream: CustomResourceDefinitions into crds.yaml, the rest into rest.yaml.
split_crds() {
  awk -v crds="$work/crds.yaml" -v rest="$work/rest.yaml" '
    function flush() {
      if (doc != "") { f = ((doc "\n") ~ /\nkind: CustomResourceDefinition\n/) ? crds : rest; printf "---%s\n", doc > f }
      doc = ""
    }
    /^---$/ { flush(); next }
    { doc = doc "\n" $0 }
    END { flush() }
  ' "$work/all.yaml"
  [[ -s $work/crds.yaml && -s $work/rest.yaml ]] || die "could not split the rendered manifests into CRDs and the rest"
}

diagnose() {
  log "the operator did not become ready; what the cluster says:"
  kubectl_admin -n "$NAMESPACE" get deployment,replicaset,pods -o wide >&2 || true
  kubectl_admin -n "$NAMESPACE" get events --sort-by=.lastTimestamp 2>/dev/null | tail -n 25 >&2 || true
  local pod
  for pod in $(kubectl_admin -n "$NAMESPACE" get pods -l app.kubernetes.io/name=debugsession-operator -o name 2>/dev/null); do
    echo "----- logs of $pod (last 30 lines) -----" >&2
    kubectl_admin -n "$NAMESPACE" logs "$pod" --tail=30 >&2 || true
    kubectl_admin -n "$NAMESPACE" logs "$pod" --tail=30 --previous >&2 2>/dev/null || true
  done
}

if $render_only; then
  render "${image:-$IMAGE_NAME:0.0.0-render-only}"
  cat "$work/all.yaml"
  exit 0
fi

# ---- the local cluster must run its node tier: pods need a kubelet and containerd holds the image.
[[ -f $KUBECONFIG_FILE ]] || die "no local cluster ($KUBECONFIG_FILE is missing): run 'make cluster-up'"
kubectl_admin get --raw /readyz >/dev/null 2>&1 || die "the local cluster's apiserver does not answer: run 'make cluster-up'"
[[ $(cat "$CLUSTER_DIR/tier" 2>/dev/null) == node && -S $CONTAINERD_SOCK ]] \
  || die "the local cluster runs without its node tier (no kubelet/containerd): run 'CLUSTER_TIER=node make cluster-up'"

if [[ -z $image ]]; then
  image=$("$HACK_DIR/operator-image.sh" | tail -n1)
  [[ $image == "$IMAGE_NAME":* ]] || die "hack/operator-image.sh printed '$image', not an image reference"
fi
log "deploying $image"
render "$image"
split_crds

# --force-conflicts: on this throwaway cluster the checked-in manifests are the truth, also over
# fields another field manager (a test run, `make install`) set differently.
kubectl_admin apply --server-side --force-conflicts -f "$work/crds.yaml" >&2
kubectl_admin wait --for=condition=Established --timeout=60s -f "$work/crds.yaml" >&2
kubectl_admin apply --server-side --force-conflicts -f "$work/rest.yaml" >&2
KUBECTL="$KUBE_BIN_DIR/kubectl" KUBECONFIG="$KUBECONFIG_FILE" "$HACK_DIR/wait-admission.sh" >&2
if ! kubectl_admin -n "$NAMESPACE" rollout status "deployment/$DEPLOYMENT" --timeout=180s >&2; then
  diagnose
  die "deployment/$DEPLOYMENT did not roll out within 180s"
fi
log "the operator runs in $NAMESPACE ($image); logs: kubectl -n $NAMESPACE logs deploy/$DEPLOYMENT -f"
