#!/usr/bin/env bash
# Writes a kubeconfig holding a token of the operator's ServiceAccount (shipped RBAC, config/rbac)
# for the cluster KUBECONFIG points at, and prints its path. Used by the demo and the benchmarks to
# run the operator outside the cluster with exactly its in-cluster permissions.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
kubectl create namespace debugsession-system --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl apply --server-side -k "$repo/config/rbac" >/dev/null
file=$(mktemp /tmp/debugsession-operator.XXXXXX.kubeconfig)
cat >"$file" <<KCFG
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')", certificate-authority-data: "$(kubectl config view --minify --raw --flatten -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')"}}]
users: [{name: operator, user: {token: "$(kubectl -n debugsession-system create token debugsession-operator --duration=2h)"}}]
contexts: [{name: c, context: {cluster: c, user: operator}}]
current-context: c
KCFG
echo "$file"
