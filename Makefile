# Suture — make help lists the targets.
SHELL := /usr/bin/env bash
.DEFAULT_GOAL := help
NPM_STAMP := node_modules/.package-lock.json
# make scenarios / make test: the project's own incident corpus; EXTRA_SCENARIOS=<dir> adds a folder (e.g. an
# acceptance set kept elsewhere), SCENARIOS=<dir or files> replaces the corpus.
SCENARIOS ?= test/scenarios
EXTRA_SCENARIOS ?=
# make test-safety: the seed of the short randomised safety test (make test-long takes a random one, or SEED=<n>).
SAFETY_SEED ?= 1

.PHONY: help
help: ## Show the targets.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

.PHONY: deps
deps: $(NPM_STAMP) ## Install the npm dependencies from the lockfile.

.PHONY: build
build: deps ## Compile TypeScript to dist/.
	npx tsc -p tsconfig.json

.PHONY: lint
lint: deps ## Type-check and lint.
	npx tsc -p tsconfig.json --noEmit
	npx eslint .

.PHONY: manifests
manifests: deps ## Regenerate crds/ and config/crd from the single source of the API (src/api).
	npx tsx scripts/gen-manifests.ts

.PHONY: docs
docs: deps ## Regenerate the field reference in docs/api.md and the CEL environment in docs/cel.md from src/api and src/core/cel.ts.
	npx tsx scripts/gen-docs.ts

.PHONY: plugin
plugin: deps ## Build kubectl-suture's release archive and its krew manifest with the sha256 (dist/plugin/).
	npx tsx scripts/build-plugin.ts

.PHONY: controlplane
controlplane: ## Build (or reuse from cache) etcd, kube-apiserver, kube-controller-manager and kubectl from Go modules.
	test/controlplane/build.sh

.PHONY: prometheus
prometheus: ## Make sure a Prometheus server is on PATH (Debian's package, installed with apt-get when missing).
	test/prometheus.sh

.PHONY: helm
helm: ## Build (or reuse from cache) Helm from its Go module helm.sh/helm/v4 (test/helm), for the chart's tests.
	test/helm/build.sh

.PHONY: test
test: test-unit test-integration scenarios test-safety ## Run every test: unit, integration on the real control plane, scenarios, the short randomised safety test.

.PHONY: test-unit
test-unit: deps ## Unit tests of pure code (no cluster).
	npx mocha 'test/unit/**/*.test.ts'

.PHONY: test-integration
test-integration: deps controlplane prometheus helm ## Integration tests on a real control plane started for the run.
	npx mocha --config test/integration/.mocharc.json 'test/integration/**/*.test.ts'

.PHONY: scenarios
scenarios: deps controlplane ## Replay the incident scenarios (test/scenarios; EXTRA_SCENARIOS=<dir> adds a folder) on the real control plane with two Suture replicas, one restarted mid-scenario.
	npx tsx test/scenarios/run.ts --replicas 2 --restart-midway $(SCENARIOS) $(EXTRA_SCENARIOS)

.PHONY: test-safety
test-safety: deps controlplane ## Randomised safety test, short (~75 s): seed SAFETY_SEED (default 1), 3 operators for 30 s against 2 Suture replicas.
	npx tsx test/safety/run.ts --seed $(SAFETY_SEED) --duration 30 --operators 3 --replicas 2

.PHONY: test-long
test-long: deps controlplane ## Randomised safety test, long (~6 min): a random seed (SEED=<n> replays one), 6 operators for 5 min, concurrent evictions included.
	npx tsx test/safety/run.ts --long --duration 300 --operators 6 --replicas 2 --checkpoint-every 30 $(if $(SEED),--seed $(SEED),)

.PHONY: bench-core
bench-core: deps ## Microbenchmark of decide() on a large snapshot (default heap settings, then a larger young generation).
	node --import tsx test/bench/core.bench.ts
	node --max-semi-space-size=64 --import tsx test/bench/core.bench.ts

.PHONY: bench
bench: build controlplane ## End-to-end benchmarks on the real control plane, ending in TARGET lines (~20 min; BENCH=latency,webhook,reconcile,memory,core for parts; BENCH_ARGS="--rounds 3 --requests 100").
	node --import tsx test/bench/e2e.bench.ts $(if $(BENCH),--only $(BENCH),) $(BENCH_ARGS)

.PHONY: cluster-up
cluster-up: deps controlplane ## Start a local control plane and keep it running (KUBECONFIG printed).
	npx tsx test/controlplane/cluster.ts up

.PHONY: cluster-down
cluster-down: deps ## Stop the local control plane started by cluster-up.
	npx tsx test/controlplane/cluster.ts down

.PHONY: demo
demo: deps controlplane ## Start the control plane, run Suture and the examples, show a misbehaving operator stopped; stop everything.
	npx tsx examples/demo.ts

# For people with Docker and kind (not used by the targets above, not run in development here: no Docker engine).
IMG ?= suture:dev
KIND_CLUSTER ?= suture

.PHONY: docker-build
docker-build: ## Build the image IMG (default suture:dev) from the Dockerfile. Needs Docker.
	docker build -t $(IMG) .

.PHONY: kind-up
kind-up: ## Create a kind cluster KIND_CLUSTER (default suture). Needs Docker and kind.
	kind create cluster --name $(KIND_CLUSTER)

.PHONY: kind-deploy
kind-deploy: docker-build ## Load IMG into the kind cluster and install Suture with config/default; then apply config/samples.
	kind load docker-image $(IMG) --name $(KIND_CLUSTER)
	kubectl kustomize config/default | sed 's|image: suture:dev|image: $(IMG)|' | kubectl --context kind-$(KIND_CLUSTER) apply --server-side -f -
	kubectl --context kind-$(KIND_CLUSTER) -n suture-system rollout status deployment/suture --timeout=180s
	@echo "Suture is running; examples: kubectl --context kind-$(KIND_CLUSTER) apply -k config/samples"

.PHONY: clean
clean: ## Remove build output (the control plane cache in ~/.cache/suture stays; rm -rf it to rebuild).
	rm -rf dist .cache
