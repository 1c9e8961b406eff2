# Makefile: build, run and test kezekd (GNU make). `make` alone lists the targets.
# Needs Debian packages libuv1-dev libhiredis-dev libssl-dev redis-server redis-tools pkg-config
# (`make deps` checks them, installs them as root) and Swift 6.1+.

SWIFT  ?= swift
REDIS  ?= 127.0.0.1:6379
LISTEN ?= 127.0.0.1:7379
LISTEN2 ?= 127.0.0.1:7389
ADMIN2 ?= 127.0.0.1:7390
FUZZ_SECONDS ?= 60
NEMESIS_SECONDS ?= 120

# The toolchain lives in /opt/swift on the dev and CI machines; use it when swift is not on PATH.
ifeq ($(shell command -v $(SWIFT) 2>/dev/null),)
export PATH := /opt/swift/usr/bin:$(PATH)
endif

.DEFAULT_GOAL := help
.PHONY: help deps build run run-standby sentinel cluster cluster-drill nemesis nemesis-planted test lint format screenshot settings-doc fuzz sanitize bench compare soak redis stop-redis clean

help: ## list the targets
	@echo "Kezek targets (variables: SWIFT=$(SWIFT) REDIS=$(REDIS) LISTEN=$(LISTEN)):"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## /  make \1\t/' | expand -t 20

deps: ## check (as root: install) system packages and swift
	@bash scripts/ensure-deps.sh

build: deps ## release build of kezekd and kezek-bench into .build/release
	$(SWIFT) build -c release --product kezekd
	$(SWIFT) build -c release --product kezek-bench
	$(SWIFT) build -c release --product kezek-audit

run: build ## start a private Redis at $(REDIS) if none answers, then run kezekd on $(LISTEN)
	bash scripts/ensure-redis.sh $(REDIS)
	exec .build/release/kezekd --config config/kezek.yaml --redis $(REDIS) --listen $(LISTEN)

run-standby: build ## a second kezekd on the same Redis and prefix ($(LISTEN2)): a standby that takes over when `make run` dies
	bash scripts/ensure-redis.sh $(REDIS)
	exec .build/release/kezekd --config config/kezek.yaml --redis $(REDIS) --listen $(LISTEN2) --admin-listen $(ADMIN2)

sentinel: build ## kezekd on a Redis primary with 2 replicas and 3 Sentinels (var/sentinel), to try a failover; Ctrl-C stops all
	bash scripts/sentinel.sh

cluster: build ## 3 kezekd nodes on a Redis Cluster of 3 masters + 3 replicas (var/cluster), supervised; Ctrl-C stops all
	bash scripts/cluster.sh

cluster-drill: build ## on `make cluster`: redis-py books through a kezekd node's and a Redis master's SIGKILL; checks nothing lost, oversold, unanswered
	bash scripts/ensure-pyclients.sh
	bash scripts/cluster-drill.sh $(or $(REQUESTS),30000)

nemesis: build ## seeded mixed faults on a private Redis + holder + standby for $(NEMESIS_SECONDS)s, history checked (SEED=… replays a run; TOPOLOGY=sentinel for a primary, 2 replicas, 3 Sentinels; TOPOLOGY=cluster on Redis Cluster)
	.build/release/kezek-bench nemesis --seconds $(NEMESIS_SECONDS) $(if $(SEED),--seed $(SEED)) $(if $(TOPOLOGY),--topology $(TOPOLOGY))

nemesis-planted: build ## the proof: each planted bug (docs/RELIABILITY.md) must fail a default nemesis run, with the anomaly named
	bash scripts/nemesis-planted.sh $(NEMESIS_SECONDS)

test: deps ## unit and integration tests (against the release kezekd; they start their own redis-server)
	bash scripts/ensure-pyclients.sh
	bash scripts/ensure-chromium.sh
	$(SWIFT) build -c release --product kezekd
	$(SWIFT) build -c release --product kezek-audit
	$(SWIFT) build -c release --product kezek-bench
	KEZEKD_BIN=$(CURDIR)/.build/release/kezekd KEZEK_AUDIT_BIN=$(CURDIR)/.build/release/kezek-audit \
		KEZEK_BENCH_BIN=$(CURDIR)/.build/release/kezek-bench $(SWIFT) test --disable-swift-testing

lint: ## swift format lint (.swift-format: line length 100) and the folder map (scripts/folder-deps.py against docs/ARCHITECTURE.md)
	$(SWIFT) format lint --strict --recursive --parallel Package.swift Sources Tests Benchmarks/Package.swift Benchmarks/Benchmarks
	@python3 scripts/folder-deps.py >/dev/null || python3 scripts/folder-deps.py

format: ## rewrite the Swift sources as .swift-format says (what `make lint` checks)
	$(SWIFT) format format --in-place --recursive --parallel Package.swift Sources Tests Benchmarks/Package.swift Benchmarks/Benchmarks

screenshot: build ## PNGs of the public pages (docs/img), rendered by headless Chromium on a private stack
	bash scripts/ensure-chromium.sh
	bash scripts/screenshot.sh

fuzz: ## libFuzzer+ASan on the request parser for $(FUZZ_SECONDS)s (FUZZ_SECONDS=…); build in .build-fuzz
	bash scripts/fuzz.sh $(FUZZ_SECONDS)

sanitize: ## all tests under TSan, then ASan (.build-tsan, .build-asan; one: scripts/sanitize.sh thread)
	bash scripts/sanitize.sh thread; t=$$?; bash scripts/sanitize.sh address; a=$$?; \
	echo "sanitize: thread exit $$t, address exit $$a"; test $$t = 0 -a $$a = 0

bench: deps ## microbenchmarks in Benchmarks/ (own package and .build; BENCH_ARGS="--target ParserBench" to pick)
	cd Benchmarks && $(SWIFT) package --allow-writing-to-package-directory benchmark --no-progress $(BENCH_ARGS) </dev/null

compare: build ## kezekd vs a Lua booking script in Redis, same redis-benchmark load, A B A B (ROUNDS=…)
	bash scripts/compare.sh $(or $(ROUNDS),3)

soak: build ## bounded soak on loopback: mixed load, churn, Redis restarts, hostile clients (SOAK_SECONDS=1800)
	bash scripts/soak.sh

settings-doc: build ## rewrite the settings table of docs/SETTINGS.md from the declarations in Sources/kezekd
	bash scripts/settings-doc.sh .build/release/kezekd

redis: ## start the private Redis at $(REDIS) (data under var/redis) unless one answers
	bash scripts/ensure-redis.sh $(REDIS)

stop-redis: ## stop private Redis servers started by `make redis` / `make run`
	bash scripts/stop-redis.sh

clean: stop-redis ## remove .build and var (private Redis data)
	rm -rf .build var
