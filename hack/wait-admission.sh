#!/usr/bin/env bash
# Waits until the apiserver's admission chain can handle a DebugSession. Right after the CRDs are
# created (or the apiserver restarts), a create is refused for a while with "503 Resource kind
# debugging.dev/v1alpha1, Kind=DebugSession not found. There can be a delay between when
# CustomResourceDefinitions are created and when they are available": the requester-stamp
# MutatingAdmissionPolicy learns a CRD's schema from the apiserver's OpenAPI paths, which it refreshes
# every 5-10 s. A server-side dry run of a session in `default` shows when that window is over without
# writing anything; any other answer (created, or refused by a ValidatingAdmissionPolicy, which runs
# after the mutating one) ends the wait. Uses $KUBECTL (default: kubectl from PATH) and KUBECONFIG;
# $1: seconds to wait (default 60).
set -euo pipefail
timeout=${1:-60}
kubectl=${KUBECTL:-kubectl}
manifest='{"apiVersion":"debugging.dev/v1alpha1","kind":"DebugSession","metadata":{"name":"admission-probe","namespace":"default"},"spec":{"targetPod":"admission-probe","image":"busybox","ttl":"1m"}}'
deadline=$((SECONDS + timeout))
while :; do
  out=$("$kubectl" create --dry-run=server -o name -f - <<<"$manifest" 2>&1) || true
  [[ $out == *"(ServiceUnavailable)"* || $out == *"connection refused"* || -z $out ]] || exit 0
  if ((SECONDS >= deadline)); then
    echo "wait-admission: the apiserver still cannot admit a DebugSession after ${timeout}s: $out" >&2
    echo "wait-admission: check that the CRDs are Established and config/admission is applied (make install)" >&2
    exit 1
  fi
  sleep 0.5
done
