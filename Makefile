# debugsession-operator. The two commands that matter on a fresh machine: `make demo`, `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

NPM_STAMP := node_modules/.install-stamp
# Node.js 24 from the npm `node` package comes first for everything make runs (the machine's Node 20
# only runs npm ci).
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
NODE := node_modules/.bin/node
CLUSTER_TIER ?= node
export CLUSTER_TIER

.PHONY: help
help: ## Lists the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

# npm runs on the machine's Node 20 just to install; the `node` package then provides Node 24,
# which every script below runs on (node_modules/.bin is first on PATH in npm scripts).
$(NPM_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is required (any Node.js >= 18 with npm); it installs Node.js 24 for the project"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@$(NODE) --version | grep -q '^v24\.' || { echo "node_modules/.bin/node is not Node.js 24"; exit 1; }
	@touch $@

.PHONY: deps
deps: $(NPM_STAMP) ## Installs npm packages (Node.js 24 included)

.PHONY: build
build: deps ## Compiles TypeScript into dist/
	npm run -s build

.PHONY: generate
generate: deps ## Regenerates crds/ from src/api
	npm run -s gen:crds

.PHONY: lint
lint: deps ## ESLint and the Prettier format check
	npm run -s lint
	npm run -s format:check

.PHONY: format
format: deps ## Formats the tree with Prettier
	npm run -s format

.PHONY: typecheck
typecheck: deps ## tsc --noEmit
	npm run -s typecheck

# ---- kubectl plugin (src/plugin/, README "kubectl dbg")
.PHONY: plugin
plugin: deps ## Builds the kubectl plugin: bin/kubectl-dbg and bin/kubectl_complete-dbg, one file each (run on Node.js >= 22)
	$(NODE) --disable-warning=ExperimentalWarning hack/build-plugin.ts bin

# ---- local cluster (hack/, see README "The local cluster")
.PHONY: cluster-up
cluster-up: ## Starts the local cluster (CLUSTER_TIER=node|control-plane)
	hack/cluster-up.sh

.PHONY: cluster-down
cluster-down: ## Stops the local cluster and removes all its state
	hack/cluster-down.sh

.PHONY: cluster-env
cluster-env: ## Prints exports for the local cluster: eval "$$(make -s cluster-env)"
	@hack/cluster-env.sh

# ---- tests
.PHONY: test
test: deps ## The whole suite: lint, format check, typecheck, unit, integration (control plane), e2e (node)
	@rm -rf test-results && mkdir -p test-results
	npm run -s lint
	npm run -s format:check
	npm run -s typecheck
	hack/run-tests.sh

.PHONY: test-unit
test-unit: deps ## Unit tests only
	npx vitest run --project unit

# ---- operator
.PHONY: install
install: ## Installs the CRDs and the admission policies into the cluster KUBECONFIG points at
	kubectl apply --server-side -k crds/
	kubectl wait --for=condition=Established crd/debugsessions.debugging.dev crd/debugpolicies.debugging.dev crd/debugsessionrecords.debugging.dev --timeout=60s
	kubectl apply --server-side -k config/admission
	hack/wait-admission.sh

.PHONY: uninstall
uninstall: ## Removes the admission policies and the CRDs (and with them every DebugSession and DebugPolicy)
	kubectl delete --ignore-not-found -k config/admission
	kubectl delete --ignore-not-found -k crds/

.PHONY: run
run: build ## Runs the operator in the foreground against KUBECONFIG
	$(NODE) dist/main.js $(ARGS)

.PHONY: demo
demo: deps ## End-to-end walkthrough on a throwaway local cluster
	hack/demo.sh

# ---- shipping the operator (Dockerfile, config/; see config/default/kustomization.yaml)
KUSTOMIZE_RENDER = kubectl kustomize
IMG ?=

.PHONY: image
image: ## Builds the operator image with Docker: make image IMG=registry/debugsession-operator:tag
	@[[ -n "$(IMG)" ]] || { echo "usage: make image IMG=registry/debugsession-operator:tag"; exit 1; }
	docker build -t "$(IMG)" .

.PHONY: deploy-local
deploy-local: deps ## Builds the image offline, imports it into the local cluster and deploys the operator there
	hack/deploy-local.sh

.PHONY: deploy
deploy: ## Deploys CRDs, RBAC, admission policies and the operator (IMG=registry/debugsession-operator:tag) to KUBECONFIG's cluster
	@[[ -n "$(IMG)" && "$(IMG)" != *:latest ]] || { echo "usage: make deploy IMG=registry/debugsession-operator:tag (an explicit tag or digest, not latest)"; exit 1; }
	@set -euo pipefail; out=$$(mktemp); trap 'rm -f "$$out"' EXIT; \
	$(KUSTOMIZE_RENDER) config/default | sed 's|^\( *image:\) debugsession-operator:dev$$|\1 $(IMG)|' > "$$out"; \
	grep -E '^ *image: $(IMG)$$' "$$out" >/dev/null || { echo "could not set the image $(IMG) in the rendered manifests"; exit 1; }; \
	kubectl apply --server-side -f "$$out"
	kubectl -n debugsession-system rollout status deployment/debugsession-operator --timeout=180s

.PHONY: undeploy
undeploy: ## Removes what deploy/deploy-local installed; deletes every DebugSession first (and so their tainted pods)
	@if kubectl get crd debugsessions.debugging.dev >/dev/null 2>&1; then \
	  echo "deleting all DebugSessions while the operator still runs (its finalizer removes their tainted pods)"; \
	  kubectl delete debugsessions.debugging.dev --all --all-namespaces --timeout=120s || { \
	    echo "some DebugSessions were not finalized within 120s (is the operator running?); nothing else was removed"; exit 1; }; \
	fi
	set -o pipefail; $(KUSTOMIZE_RENDER) config/default | kubectl delete --ignore-not-found -f -

# ---- benchmarks (bench/; never part of make test)
.PHONY: bench
bench: deps ## Runs the benchmarks; results in bench/out/results.json
	hack/bench.sh

.PHONY: soak
soak: deps ## Soak run: SOAK_MINUTES (default 60) of mixed sessions on the real node; report in bench/out/soak.json
	hack/soak.sh
