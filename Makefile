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
lint: deps ## ESLint
	npm run -s lint

.PHONY: typecheck
typecheck: deps ## tsc --noEmit
	npm run -s typecheck

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
test: deps ## The whole suite: lint, typecheck, unit, integration (control plane), e2e (node)
	@rm -rf test-results && mkdir -p test-results
	npm run -s lint
	npm run -s typecheck
	hack/run-tests.sh

.PHONY: test-unit
test-unit: deps ## Unit tests only
	npx vitest run --project unit

# ---- operator
.PHONY: install
install: ## Installs the CRDs and the admission policies into the cluster KUBECONFIG points at
	kubectl apply --server-side -f crds/
	kubectl wait --for=condition=Established crd/debugsessions.debugging.dev crd/debugpolicies.debugging.dev --timeout=60s
	kubectl apply --server-side -k config/admission

.PHONY: uninstall
uninstall: ## Removes the admission policies and the CRDs (and with them every DebugSession and DebugPolicy)
	kubectl delete --ignore-not-found -k config/admission
	kubectl delete --ignore-not-found -f crds/

.PHONY: run
run: build ## Runs the operator in the foreground against KUBECONFIG
	$(NODE) dist/main.js $(ARGS)

.PHONY: demo
demo: deps ## End-to-end walkthrough on a throwaway local cluster
	hack/demo.sh
