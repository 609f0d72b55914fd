# The verbs: `make demo` runs the embedded default campaign; `make test` runs every test. Both set up first.
SHELL := bash
TSX := npx tsx
DEMO_DATA := data/demo

.PHONY: setup deps stack workers data demo test test-unit test-integration lint typecheck format pi0 down clean

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

$(DEMO_DATA)/terminal-train.jsonl: node_modules/.installed $(shell find tasks core -name "*.ts")
	$(TSX) cli/pivotrl.ts generate --out $(DEMO_DATA) --seed 1 --train 96 --heldout 24 --ood 50

data: $(DEMO_DATA)/terminal-train.jsonl

demo: setup data
	$(TSX) cli/pivotrl.ts run --config configs/demo.json --embedded-workers

lint: deps
	npx eslint .
	npx prettier --check .

typecheck: deps
	npx tsc --noEmit

test-unit: deps
	$(TSX) --test --test-concurrency=1 test/unit/*.test.ts

test-integration: setup
	$(TSX) --test --test-concurrency=1 test/integration/*.test.ts

test: setup lint typecheck test-unit test-integration

# Re-create the shipped base checkpoint models/pi0 from its recipe (seeded; ~15 min on 2 cores).
pi0: deps
	$(TSX) policy/pretrain.ts --out models/pi0

down:
	deploy/local/down.sh

clean:
	rm -rf .pivotrl data
