# The verbs: `make demo` runs the embedded default campaign; `make test` runs every test. Both set up first.
SHELL := bash
TSX := npx tsx
DEMO_DATA := data/demo
SUITE_DATA := data/suites
EXPERIMENT_DATA := data/experiment

.PHONY: setup deps stack prod-binaries stack-prod down-prod workers data demo profile-suites test test-unit test-integration lint typecheck format pi0 down clean

deps: node_modules/.installed
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

stack: deps
	deploy/local/up.sh

setup: deps stack

# Several CPU workers and a GPU worker against the local server (PIVOTRL_CPU_WORKERS, PIVOTRL_GPUS, PIVOTRL_ALLOW_CPU=1
# without a GPU); `make down` stops them with the server.
workers: setup
	deploy/local/workers.sh start

# The suites at the generator's defaults (>= 300 terminal training tasks, SWE and tool use); the demo's campaign
# profiles a 96-task subset of the same seed so that it stays within ~3 minutes.
$(SUITE_DATA)/terminal-train.jsonl: node_modules/.installed $(shell find tasks core -name "*.ts")
	$(TSX) cli/pivotrl.ts generate --out $(SUITE_DATA) --seed 1

$(DEMO_DATA)/terminal-train.jsonl: node_modules/.installed $(shell find tasks core -name "*.ts")
	$(TSX) cli/pivotrl.ts generate --out $(DEMO_DATA) --seed 1 --train 96 --heldout 24 --ood 50 --swe-train 0 --swe-heldout 0 --tool-train 0 --tool-heldout 0

# The experiment's data: pi0's profiled training tasks (the first 96 of seed 1), 200 held-out tasks (their expert
# states are the per-turn metric's items) and 600 OOD items at level 2 (pi0 gets each kind partly right).
$(EXPERIMENT_DATA)/terminal-train.jsonl: node_modules/.installed $(shell find tasks core -name "*.ts")
	$(TSX) cli/pivotrl.ts generate --out $(EXPERIMENT_DATA) --seed 1 --train 96 --heldout 200 --ood 600 --ood-level 2 --swe-train 0 --swe-heldout 0 --tool-train 0 --tool-heldout 0

data: $(SUITE_DATA)/terminal-train.jsonl $(DEMO_DATA)/terminal-train.jsonl $(EXPERIMENT_DATA)/terminal-train.jsonl

demo: setup data
	$(TSX) cli/pivotrl.ts run --config configs/demo.json --embedded-workers

# The paper's comparison (SFT, E2E RL, PivotRL, ablations; 3 seeds) -> reports/experiment/report.md. Scale knobs
# (seeds, steps, B, G, K, held-out tasks) are in the config; EXPERIMENT_CONFIG=... runs another.
EXPERIMENT_CONFIG ?= configs/experiment.json
experiment: setup data
	$(TSX) cli/pivotrl.ts experiment --config $(EXPERIMENT_CONFIG) --embedded-workers

# shellcheck (Debian's package, installed when missing) reads the scripts the sandboxes run and the deploy scripts;
# go vet and gofmt read the sandbox runner (sandboxes/runner; Go as the setup finds it).
lint: deps
	npx eslint .
	npx prettier --check .
	deploy/local/shellcheck.sh
	shellcheck sandboxes/*.sh $$(find deploy -name '*.sh')
	cd sandboxes/runner && CGO_ENABLED=0 GOTOOLCHAIN=local go vet ./... && test -z "$$(gofmt -l .)"
	cd sandboxes/docker-proxy && CGO_ENABLED=0 GOTOOLCHAIN=local go vet ./... && test -z "$$(gofmt -l .)"

typecheck: deps
	npx tsc --noEmit

test-unit: deps
	$(TSX) --test --test-concurrency=1 test/unit/*.test.ts

# The integration tests also bring up the production stack (PostgreSQL, Temporal server, UI server, S3) and
# worker hosts in network namespaces: its Go binaries are built once into ~/.cache/pivotrl/bin.
test-integration: setup prod-binaries
	$(TSX) --test --test-concurrency=1 test/integration/*.test.ts

# prod-binaries before the unit tests: the store contract's S3 half runs against versitygw (skipped when it is missing).
test: setup prod-binaries lint typecheck test-unit test-integration

# Re-create the shipped base checkpoint models/pi0 from its recipe: 150 seeded steps from models/pi0/base (~8 min on 2 cores).
pi0: deps
	$(TSX) policy/pretrain.ts --out models/pi0

# Profile pi0 with K = 8 on each suite's training turns (real sandboxes): reports/suites.md and reports/suites.json.
profile-suites: setup
	$(TSX) cli/pivotrl.ts profile-suites --checkpoint models/pi0 --out reports/suites

down:
	deploy/local/down.sh

# The production stack on one machine: PostgreSQL, Temporal's server and Web UI server, S3 (deploy/prod/up.sh).
prod-binaries:
	deploy/prod/binaries.sh

stack-prod: deps prod-binaries
	deploy/prod/up.sh

down-prod:
	deploy/prod/down.sh

clean: down-prod
	rm -rf .pivotrl data
