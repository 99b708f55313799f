#!/usr/bin/env bash
# Prints the lines that point a shell at the local cluster: eval "$(make -s cluster-env)"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
echo "export KUBECONFIG=$KUBECONFIG_FILE"
echo "export PATH=$KUBE_BIN_DIR:\$PATH"
